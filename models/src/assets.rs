//! The default models, built into every binary that links this crate (the plugin and the
//! trainer), so that a fresh install plays out of the box with no files to find. Each lives in
//! `models/assets/<id>/` with its manifest and model card (`CARD.md`); `models/README.md` holds the
//! commands that rebuild them. A model reference `builtin:<id>` names one (see
//! [`Package::open`]).
//!
//! The transformers ship int8 only. The Markov model is the fallback when ONNX Runtime is missing:
//! it needs nothing but this crate.

use crate::music::Role;
use crate::package::{Package, PackageError};

/// A default model built into the binary.
#[derive(Debug, Clone, Copy)]
pub struct BuiltIn {
    /// Id (`builtin:<id>`).
    pub id: &'static str,
    /// The manifest, JSON.
    pub manifest: &'static str,
    /// The model card, Markdown.
    pub card: &'static str,
    /// The files the manifest names.
    pub files: &'static [(&'static str, &'static [u8])],
}

macro_rules! asset {
    ($id:literal, [$($file:literal),*]) => {
        BuiltIn {
            id: $id,
            manifest: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $id, "/manifest.json")),
            card: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $id, "/CARD.md")),
            files: &[$(($file, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $id, "/", $file)))),*],
        }
    };
}

/// Id of the Markov fallback (no ONNX Runtime needed).
pub const FALLBACK: &str = "markov";

/// Every built-in model.
pub const BUILT_INS: &[BuiltIn] = &[
    asset!("jazz-lead", ["model.int8.onnx"]),
    asset!("band", ["model.int8.onnx"]),
    asset!("melody", ["model.int8.onnx"]),
    asset!("drums", ["model.int8.onnx"]),
    asset!("neoclassical", ["model.int8.onnx"]),
    asset!("markov", ["markov.bin"]),
];

/// The built-in model with this id.
pub fn builtin(id: &str) -> Option<&'static BuiltIn> {
    BUILT_INS.iter().find(|b| b.id == id)
}

/// Loads (and checks) the built-in package `id`.
pub fn package(id: &str) -> Result<Package, PackageError> {
    let b = builtin(id).ok_or_else(|| PackageError::UnknownBuiltin {
        id: id.to_string(),
        known: BUILT_INS.iter().map(|b| b.id).collect::<Vec<_>>().join(", "),
    })?;
    Package::from_static(b.id, b.manifest, b.files)
}

/// The default model reference for a role (`builtin:<id>`): the neural model trained for it.
pub fn default_for(role: Role) -> String {
    let id = match role {
        Role::Lead => "jazz-lead",
        Role::Bass | Role::Comping => "band",
        Role::Drums => "drums",
        Role::Piano => "neoclassical",
    };
    let id = if builtin(id).is_some() { id } else { FALLBACK };
    format!("{}{id}", crate::package::BUILTIN_PREFIX)
}

/// The fallback reference (`builtin:markov`).
pub fn fallback() -> String {
    format!("{}{FALLBACK}", crate::package::BUILTIN_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads_and_matches_its_card() {
        for b in BUILT_INS {
            let p = package(b.id).unwrap_or_else(|e| panic!("{}: {e}", b.id));
            assert!(p.is_builtin());
            assert!(!p.manifest.roles.is_empty(), "{}", b.id);
            assert!(
                b.card.contains(&p.manifest.name),
                "{}: card does not name the model",
                b.id
            );
        }
        let total: usize = BUILT_INS
            .iter()
            .flat_map(|b| b.files.iter())
            .map(|(_, f)| f.len())
            .sum();
        assert!(total <= 20_000_000, "built-in models weigh {total} bytes");
    }

    #[test]
    fn every_role_has_a_default_that_generates_it() {
        for role in Role::ALL {
            let r = default_for(role);
            let p = Package::open(&r).unwrap();
            assert!(p.manifest.roles.contains(&role), "{r} lacks {role}");
        }
        assert!(matches!(
            Package::open("builtin:nope"),
            Err(PackageError::UnknownBuiltin { .. })
        ));
    }
}
