//! The subset of `onnx.proto` (ONNX IR 10) the exporter writes, as prost messages, and a small
//! graph builder. Field numbers are those of onnx/onnx.proto; only what we use is declared, and
//! `oneof`s are written as optional fields (same wire encoding).

use prost::Message;

/// `TensorProto.DataType` values we use.
pub mod dtype {
    /// float32
    pub const FLOAT: i32 = 1;
    /// int8
    pub const INT8: i32 = 3;
    /// int32
    pub const INT32: i32 = 6;
    /// int64
    pub const INT64: i32 = 7;
    /// float16
    pub const FLOAT16: i32 = 10;
}

/// `AttributeProto.AttributeType` values we use.
pub mod attr_type {
    /// float
    pub const FLOAT: i32 = 1;
    /// int
    pub const INT: i32 = 2;
    /// ints
    pub const INTS: i32 = 7;
}

/// ModelProto.
#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(string, tag = "3")]
    pub producer_version: String,
    #[prost(string, tag = "4")]
    pub domain: String,
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    #[prost(string, tag = "6")]
    pub doc_string: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// OperatorSetIdProto.
#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// StringStringEntryProto.
#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// GraphProto.
#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(string, tag = "10")]
    pub doc_string: String,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// NodeProto.
#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    #[prost(string, tag = "7")]
    pub domain: String,
}

/// AttributeProto.
#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, tag = "2")]
    pub f: f32,
    #[prost(int64, tag = "3")]
    pub i: i64,
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

/// TensorProto (raw little-endian data only).
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

/// ValueInfoProto.
#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// TypeProto (tensor types only).
#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TypeProtoTensor>,
}

/// TypeProto.Tensor.
#[derive(Clone, PartialEq, Message)]
pub struct TypeProtoTensor {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// TensorShapeProto.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// TensorShapeProto.Dimension.
#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

/// A dimension: fixed size or named symbol.
pub enum Dim {
    /// Fixed.
    Fixed(i64),
    /// Symbolic (`"batch"`).
    Sym(&'static str),
}

/// Value info for a tensor input or output.
pub fn value_info(name: &str, elem_type: i32, dims: &[Dim]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| match d {
                            Dim::Fixed(v) => Dimension {
                                dim_value: Some(*v),
                                dim_param: None,
                            },
                            Dim::Sym(s) => Dimension {
                                dim_value: None,
                                dim_param: Some(s.to_string()),
                            },
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// An attribute value.
pub enum Attr {
    /// float
    F(f32),
    /// int
    I(i64),
    /// ints
    Is(Vec<i64>),
}

/// Builds a graph node by node, naming intermediate values uniquely.
#[derive(Default)]
pub struct GraphBuilder {
    /// The graph so far.
    pub graph: GraphProto,
    counter: usize,
}

impl GraphBuilder {
    /// A fresh name with a readable prefix.
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    /// Adds a node in `domain` with one output; returns the output name.
    pub fn op_in(&mut self, domain: &str, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let out = self.fresh(&op.to_lowercase());
        self.op_outs(domain, op, inputs, &[&out], attrs);
        out
    }

    /// Adds a node of the default domain with one output; returns the output name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        self.op_in("", op, inputs, attrs)
    }

    /// Adds a node with the given output names.
    pub fn op_outs(&mut self, domain: &str, op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<(&str, Attr)>) {
        let name = self.fresh(&format!("n_{op}"));
        self.graph.node.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name,
            op_type: op.to_string(),
            domain: domain.to_string(),
            attribute: attrs
                .into_iter()
                .map(|(n, a)| {
                    let mut p = AttributeProto {
                        name: n.to_string(),
                        ..Default::default()
                    };
                    match a {
                        Attr::F(f) => {
                            p.f = f;
                            p.r#type = attr_type::FLOAT;
                        }
                        Attr::I(i) => {
                            p.i = i;
                            p.r#type = attr_type::INT;
                        }
                        Attr::Is(v) => {
                            p.ints = v;
                            p.r#type = attr_type::INTS;
                        }
                    }
                    p
                })
                .collect(),
        });
    }

    /// Adds an f32 initializer.
    pub fn init_f32(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        self.graph.initializer.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: dtype::FLOAT,
            name: name.to_string(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.to_string()
    }

    /// Adds an i8 initializer.
    pub fn init_i8(&mut self, name: &str, dims: &[usize], data: &[i8]) -> String {
        self.graph.initializer.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: dtype::INT8,
            name: name.to_string(),
            raw_data: data.iter().map(|&v| v as u8).collect(),
        });
        name.to_string()
    }

    /// Adds an i64 initializer (a scalar when `dims` is empty).
    pub fn init_i64(&mut self, name: &str, dims: &[usize], data: &[i64]) -> String {
        self.graph.initializer.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: dtype::INT64,
            name: name.to_string(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.to_string()
    }
}

/// Reads an initializer's f32 data.
pub fn tensor_f32(t: &TensorProto) -> Option<Vec<f32>> {
    (t.data_type == dtype::FLOAT && t.raw_data.len().is_multiple_of(4)).then(|| {
        t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

/// Serialises a model.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

/// Parses a model.
pub fn decode(bytes: &[u8]) -> Result<ModelProto, prost::DecodeError> {
    ModelProto::decode(bytes)
}
