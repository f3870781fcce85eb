//! A headless CLAP test host on clack-host: loads Sideman (in-process through its `clap_entry`, or
//! a built `.clap` file from disk) and drives it like a DAW, with a transport, MIDI input, state
//! save/load, the render (offline) mode, and the plugin's GUI embedded in an X11 window.

#![allow(dead_code)]

use std::ffi::{CStr, CString, c_ulong, c_void};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use clack_host::extensions::prelude::{
    Extension, ExtensionImplementation, HostExtensionSide, HostWrapper, RawExtension, RawExtensionImplementation,
};
use clap_sys::ext::gui::{
    CLAP_EXT_GUI, CLAP_WINDOW_API_X11, clap_host_gui, clap_plugin_gui, clap_window, clap_window_handle,
};
use clap_sys::ext::note_ports::{
    CLAP_EXT_NOTE_PORTS, CLAP_NOTE_DIALECT_CLAP, CLAP_NOTE_DIALECT_MIDI, clap_host_note_ports, clap_note_dialect,
};
use clap_sys::host::clap_host;

use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::{EventFlags, EventHeader, Match};
use clack_host::prelude::*;
use clack_host::utils::FixedPoint;
use clap_sys::ext::params::{CLAP_EXT_PARAMS, clap_param_info, clap_plugin_params};
use clap_sys::ext::render::{CLAP_EXT_RENDER, CLAP_RENDER_OFFLINE, clap_plugin_render};
use clap_sys::ext::state::{CLAP_EXT_STATE, clap_plugin_state};
use clap_sys::stream::{clap_istream, clap_ostream};

use models::generate::beat_to_tick;
use models::markov::MarkovBuilder;
use models::package::{Manifest, ModelKind, Package};
use models::{Chord, ChordEvent, ChordQuality, Note, Onset, Role, Sequence, Tokenizer, Vocab};

/// The note dialects of a host that takes both CLAP note events and MIDI (the default test host).
pub const DIALECTS_CLAP_AND_MIDI: clap_note_dialect = CLAP_NOTE_DIALECT_CLAP | CLAP_NOTE_DIALECT_MIDI;

#[derive(Default)]
pub struct Shared {
    /// The plugin asked for `on_main_thread` (any thread may set it).
    callback_requested: AtomicBool,
    /// The plugin said its GUI closed.
    gui_closed: AtomicBool,
    /// What the host's `clap.note-ports` extension says it supports; `None`: the host has no such
    /// extension (as Carla). Fixed at instantiation.
    note_dialects: Option<clap_note_dialect>,
}

impl<'a> SharedHandler<'a> for Shared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::Release);
    }
}

/// The host side of CLAP's `gui` extension (nice-plug needs it to open an editor): accepts every
/// request and records `closed`. Written on clack-host and clap-sys alone, because the trainer's
/// parity test includes this file too.
#[derive(Copy, Clone)]
pub struct HostGui(RawExtension<HostExtensionSide, clap_host_gui>);

// SAFETY: CLAP_EXT_GUI is the id of `clap_host_gui`.
unsafe impl Extension for HostGui {
    const IDENTIFIERS: &[&CStr] = &[CLAP_EXT_GUI];
    type ExtensionSide = HostExtensionSide;

    unsafe fn from_raw(raw: RawExtension<Self::ExtensionSide>) -> Self {
        // SAFETY: the caller guarantees the pointer is a `clap_host_gui`.
        Self(unsafe { raw.cast() })
    }
}

unsafe extern "C" fn gui_accept(_host: *const clap_host) -> bool {
    true
}

unsafe extern "C" fn gui_noop(_host: *const clap_host) {}

unsafe extern "C" fn gui_request_resize(_host: *const clap_host, _width: u32, _height: u32) -> bool {
    true
}

unsafe extern "C" fn gui_closed(host: *const clap_host, _was_destroyed: bool) {
    // SAFETY: `host` is the clap_host of a TestHost instance (the only host registering this).
    unsafe {
        HostWrapper::<TestHost>::handle(host, |h| {
            h.shared().gui_closed.store(true, Ordering::Release);
            Ok(())
        });
    }
}

// SAFETY: the struct is `clap_host_gui`, the extension `HostGui` names.
unsafe impl ExtensionImplementation<TestHost> for HostGui {
    const IMPLEMENTATION: RawExtensionImplementation = RawExtensionImplementation::new(&clap_host_gui {
        resize_hints_changed: Some(gui_noop),
        request_resize: Some(gui_request_resize),
        request_show: Some(gui_accept),
        request_hide: Some(gui_accept),
        closed: Some(gui_closed),
    });
}

/// The host side of CLAP's `note-ports` extension: the plugin asks it which note dialects the
/// host takes (the wrapper sends notes as MIDI to a host that takes no CLAP note events).
#[derive(Copy, Clone)]
pub struct HostNotePorts(RawExtension<HostExtensionSide, clap_host_note_ports>);

// SAFETY: CLAP_EXT_NOTE_PORTS is the id of `clap_host_note_ports`.
unsafe impl Extension for HostNotePorts {
    const IDENTIFIERS: &[&CStr] = &[CLAP_EXT_NOTE_PORTS];
    type ExtensionSide = HostExtensionSide;

    unsafe fn from_raw(raw: RawExtension<Self::ExtensionSide>) -> Self {
        // SAFETY: the caller guarantees the pointer is a `clap_host_note_ports`.
        Self(unsafe { raw.cast() })
    }
}

unsafe extern "C" fn note_ports_supported_dialects(host: *const clap_host) -> clap_note_dialect {
    // SAFETY: `host` is the clap_host of a TestHost instance (the only host registering this).
    unsafe { HostWrapper::<TestHost>::handle(host, |h| Ok(h.shared().note_dialects.unwrap_or(0))) }.unwrap_or(0)
}

unsafe extern "C" fn note_ports_rescan(_host: *const clap_host, _flags: u32) {}

// SAFETY: the struct is `clap_host_note_ports`, the extension `HostNotePorts` names.
unsafe impl ExtensionImplementation<TestHost> for HostNotePorts {
    const IMPLEMENTATION: RawExtensionImplementation = RawExtensionImplementation::new(&clap_host_note_ports {
        supported_dialects: Some(note_ports_supported_dialects),
        rescan: Some(note_ports_rescan),
    });
}

pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = Shared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, shared: &Self::Shared<'_>) {
        builder.register::<HostGui>();
        if shared.note_dialects.is_some() {
            builder.register::<HostNotePorts>();
        }
    }
}

/// Where the bundled or built plugin binary is, if it exists.
pub fn plugin_file() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let exe = std::env::current_exe().ok()?;
    // The test binary is target/<profile>/deps/<test>; `cargo test` rebuilds the cdylib in deps/
    // (the copy in target/<profile>/ is only refreshed by `cargo build`).
    let deps_dir = exe.parent()?.to_path_buf();
    let profile_dir = deps_dir.parent()?.to_path_buf();
    let candidates = [
        std::env::var_os("SIDEMAN_CLAP").map(PathBuf::from).unwrap_or_default(),
        deps_dir.join("libsideman.so"),
        profile_dir.join("libsideman.so"),
        target.join("bundled").join("Sideman.clap"),
    ];
    candidates.into_iter().find(|p| p.is_file())
}

/// The entry of the plugin linked into this test binary.
pub fn entry_in_process() -> PluginEntry {
    // SAFETY: `clap_entry` is the plugin's exported, 'static CLAP entry.
    unsafe { PluginEntry::load_from_raw(&sideman::clap_entry, c"/in-process/Sideman.clap") }.expect("in-process entry")
}

/// The entry of a plugin binary on disk.
pub fn entry_from_file(path: &Path) -> PluginEntry {
    // SAFETY: loading a CLAP plugin library built from this repository.
    unsafe { PluginEntry::load(path) }.expect("load plugin file")
}

/// The transport of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transport {
    pub playing: bool,
    pub beat: f64,
    pub tempo: f64,
    pub numerator: u16,
    pub denominator: u16,
    pub bar_start: f64,
    pub loop_range: Option<(f64, f64)>,
}

impl Transport {
    pub fn at(beat: f64, tempo: f64) -> Transport {
        Transport {
            playing: true,
            beat,
            tempo,
            numerator: 4,
            denominator: 4,
            bar_start: (beat / 4.0).floor() * 4.0,
            loop_range: None,
        }
    }

    fn event(&self) -> TransportEvent {
        let mut flags =
            TransportFlags::HAS_TEMPO | TransportFlags::HAS_BEATS_TIMELINE | TransportFlags::HAS_TIME_SIGNATURE;
        if self.playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        if self.loop_range.is_some() {
            flags |= TransportFlags::IS_LOOP_ACTIVE;
        }
        let (ls, le) = self.loop_range.unwrap_or((0.0, 0.0));
        TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: FixedPoint::from_float(self.beat),
            song_pos_seconds: FixedPoint::from_float(self.beat * 60.0 / self.tempo),
            tempo: self.tempo,
            tempo_inc: 0.0,
            loop_start_beats: FixedPoint::from_float(ls),
            loop_end_beats: FixedPoint::from_float(le),
            loop_start_seconds: FixedPoint::from_float(ls * 60.0 / self.tempo),
            loop_end_seconds: FixedPoint::from_float(le * 60.0 / self.tempo),
            bar_start: FixedPoint::from_float(self.bar_start),
            bar_number: (self.bar_start / (self.numerator as f64 * 4.0 / self.denominator as f64)).round() as i32,
            time_signature_numerator: self.numerator,
            time_signature_denominator: self.denominator,
        }
    }
}

/// An output note event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutNote {
    pub time: u32,
    pub on: bool,
    pub key: u8,
    pub channel: u8,
    pub velocity: f64,
    /// The status byte when the note came as a MIDI event (0x9n / 0x8n); `None` for a CLAP note
    /// event.
    pub midi_status: Option<u8>,
}

/// One plugin instance, activated and processing.
pub struct Host {
    instance: PluginInstance<TestHost>,
    processor: Option<StartedPluginAudioProcessor<TestHost>>,
    pub sample_rate: f64,
    pub max_block: u32,
    in_events: EventBuffer,
    out_events: EventBuffer,
    out_left: Vec<f32>,
    out_right: Vec<f32>,
    /// Length of the last block (what [`Host::audio`] returns).
    last_len: usize,
    ports: AudioPorts,
    steady: u64,
    /// Wall time of the last `process()` call into the plugin, nanoseconds.
    pub last_process_ns: u64,
    /// Parameter changes sent at the start of the next block: (CLAP id, plain value).
    params_next: Vec<(u32, f64)>,
    /// MIDI control changes of the last block: (time, channel, controller, value).
    pub ccs: Vec<(u32, u8, u8, u8)>,
    /// Control changes for the next block: (time, controller, value).
    ccs_next: Vec<(u32, u8, u8)>,
}

fn host_info() -> HostInfo {
    HostInfo::new("Sideman test host", "Sideman", "https://example.invalid", "0.1.0").expect("host info")
}

impl Host {
    /// Instantiates, optionally loads `state`, switches to offline rendering if asked, activates
    /// and starts processing. The host takes CLAP note events and MIDI.
    pub fn new(entry: &PluginEntry, sample_rate: f64, max_block: u32, offline: bool, state: Option<&[u8]>) -> Host {
        Host::with_note_dialects(
            entry,
            sample_rate,
            max_block,
            offline,
            state,
            Some(DIALECTS_CLAP_AND_MIDI),
        )
    }

    /// [`Host::new`] for a host whose `clap.note-ports` extension reports `note_dialects`, or that
    /// has no such extension (`None`, as Carla).
    pub fn with_note_dialects(
        entry: &PluginEntry,
        sample_rate: f64,
        max_block: u32,
        offline: bool,
        state: Option<&[u8]>,
        note_dialects: Option<clap_note_dialect>,
    ) -> Host {
        let factory = entry.get_plugin_factory().expect("plugin factory");
        let id = factory
            .plugin_descriptors()
            .filter_map(|d| d.id().map(|i| i.to_owned()))
            .find(|i| i.to_bytes() == b"org.sideman.sideman")
            .expect("Sideman descriptor");
        let shared = move |_: &()| Shared {
            note_dialects,
            ..Shared::default()
        };
        let mut instance = PluginInstance::<TestHost>::new(shared, |_| (), entry, &id, &host_info()).expect("instance");
        if let Some(s) = state {
            load_state_raw(&instance, s);
        }
        if offline {
            set_offline(&instance);
        }
        let cfg = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_block,
        };
        let stopped = instance.activate(|_, _| (), cfg).expect("activate");
        let started = stopped.start_processing().expect("start processing");
        Host {
            instance,
            processor: Some(started),
            sample_rate,
            max_block,
            in_events: EventBuffer::with_capacity(1024),
            out_events: EventBuffer::with_capacity(16384),
            out_left: vec![0.0; max_block as usize],
            out_right: vec![0.0; max_block as usize],
            last_len: 0,
            ports: AudioPorts::with_capacity(2, 1),
            steady: 0,
            last_process_ns: 0,
            params_next: Vec::with_capacity(16),
            ccs: Vec::with_capacity(64),
            ccs_next: Vec::with_capacity(16),
        }
    }

    /// Processes one block of `len` samples with `transport` and input notes
    /// `(time, on, key, velocity)`; returns the plugin's note output.
    pub fn process(&mut self, len: u32, transport: &Transport, input: &[(u32, bool, u8, f64)]) -> Vec<OutNote> {
        assert!(len >= 1 && len <= self.max_block);
        self.in_events.clear();
        for (id, value) in self.params_next.drain(..) {
            let id = ClapId::new(id);
            self.in_events
                .push(&ParamValueEvent::new(0, id, Pckn::match_all(), value));
        }
        // Control changes queued for this block go before the notes at their sample.
        let mut ccs = std::mem::take(&mut self.ccs_next);
        ccs.sort_by_key(|c| c.0);
        let mut ccs = ccs.into_iter().peekable();
        for &(t, on, key, vel) in input {
            while let Some((ct, cc, value)) = ccs.next_if(|c| c.0 <= t) {
                self.in_events.push(&MidiEvent::new(ct, 0, [0xB0, cc, value]));
            }
            let pckn = Pckn::new(0u16, 0u16, key as u16, Match::All);
            if on {
                self.in_events.push(&NoteOnEvent::new(t, pckn, vel));
            } else {
                self.in_events.push(&NoteOffEvent::new(t, pckn, 0.0));
            }
        }
        for (ct, cc, value) in ccs {
            self.in_events.push(&MidiEvent::new(ct, 0, [0xB0, cc, value]));
        }
        self.out_events.clear();
        self.ccs.clear();
        let ev = transport.event();
        let proc = self.processor.as_mut().expect("processing");
        // Garbage in the output buffers, as a host may hand over: a plugin that leaves a sample
        // unwritten cannot pass for silent (NaN is not 0.0) nor replay the last block.
        self.out_left.fill(f32::NAN);
        self.out_right.fill(f32::NAN);
        self.last_len = len as usize;
        let (l, r) = (&mut self.out_left[..len as usize], &mut self.out_right[..len as usize]);
        let mut outputs = self.ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only([l, r].into_iter().map(|b| &mut b[..])),
        }]);
        let inputs = InputAudioBuffers::empty();
        let input_events = InputEvents::from_buffer(&self.in_events);
        let mut output_events = OutputEvents::from_buffer(&mut self.out_events);
        let t0 = std::time::Instant::now();
        proc.process(
            &inputs,
            &mut outputs,
            &input_events,
            &mut output_events,
            Some(self.steady),
            Some(&ev),
        )
        .expect("process");
        self.last_process_ns = t0.elapsed().as_nanos() as u64;
        self.steady += len as u64;
        let mut out = Vec::new();
        for e in self.out_events.iter() {
            if let Some(n) = e.as_event::<NoteOnEvent>() {
                out.push(OutNote {
                    time: n.header().time(),
                    on: true,
                    key: n.pckn().key.into_specific().unwrap_or(0) as u8,
                    channel: n.pckn().channel.into_specific().unwrap_or(0) as u8,
                    velocity: n.velocity(),
                    midi_status: None,
                });
            } else if let Some(n) = e.as_event::<NoteOffEvent>() {
                out.push(OutNote {
                    time: n.header().time(),
                    on: false,
                    key: n.pckn().key.into_specific().unwrap_or(0) as u8,
                    channel: n.pckn().channel.into_specific().unwrap_or(0) as u8,
                    velocity: 0.0,
                    midi_status: None,
                });
            } else if let Some(m) = e.as_event::<MidiEvent>() {
                // Note on (a zero velocity is a note off) and note off; other messages are not notes.
                let [status, key, velocity] = m.data();
                let on = match status & 0xF0 {
                    0x90 => velocity > 0,
                    0x80 => false,
                    0xB0 => {
                        self.ccs.push((m.header().time(), status & 0x0F, key, velocity));
                        continue;
                    }
                    _ => continue,
                };
                out.push(OutNote {
                    time: m.header().time(),
                    on,
                    key,
                    channel: status & 0x0F,
                    velocity: if on { velocity as f64 / 127.0 } else { 0.0 },
                    midi_status: Some(status),
                });
            }
        }
        out
    }

    /// The audio output (left, right) of the last block processed.
    pub fn audio(&self) -> (&[f32], &[f32]) {
        (&self.out_left[..self.last_len], &self.out_right[..self.last_len])
    }

    /// CLAP parameter ids by parameter name, with their plain ranges.
    pub fn params(&self) -> std::collections::HashMap<String, (u32, f64, f64)> {
        let ext = extension::<clap_plugin_params>(&self.instance, CLAP_EXT_PARAMS);
        assert!(!ext.is_null(), "params extension");
        let mut out = std::collections::HashMap::new();
        // SAFETY: valid plugin and extension; `info` is a plain C struct the plugin fills in.
        unsafe {
            let count = ((*ext).count.expect("params.count"))(self.instance.raw_instance());
            for i in 0..count {
                let mut info: clap_param_info = std::mem::zeroed();
                if ((*ext).get_info.expect("params.get_info"))(self.instance.raw_instance(), i, &mut info) {
                    let name = CStr::from_ptr(info.name.as_ptr()).to_string_lossy().into_owned();
                    out.insert(name, (info.id, info.min_value, info.max_value));
                }
            }
        }
        out
    }

    /// Sends a control change (`cc`, `value` 0-127, channel 1) at sample `time` of the next block.
    pub fn queue_cc(&mut self, time: u32, cc: u8, value: u8) {
        self.ccs_next.push((time, cc, value));
    }

    /// Sends a parameter change (plain value) at the start of the next block.
    pub fn set_param(&mut self, id: u32, value: f64) {
        self.params_next.push((id, value));
    }

    /// Saves the plugin state (main thread).
    pub fn save_state(&mut self) -> Vec<u8> {
        save_state_raw(&self.instance)
    }

    /// Loads a plugin state (main thread).
    pub fn load_state(&mut self, bytes: &[u8]) {
        load_state_raw(&self.instance, bytes);
    }

    /// Runs the plugin's `on_main_thread` if it asked for it (main thread; call it often while a
    /// GUI is open, as a host's event loop does).
    pub fn pump_main_thread(&mut self) {
        let asked = self
            .instance
            .access_shared_handler(|s| s.callback_requested.swap(false, Ordering::AcqRel));
        if asked {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Whether the plugin said its GUI closed.
    pub fn gui_closed(&self) -> bool {
        self.instance
            .access_shared_handler(|s| s.gui_closed.load(Ordering::Acquire))
    }

    /// The plugin's `gui` extension.
    fn gui(&self) -> Result<&clap_plugin_gui, String> {
        let ext = extension::<clap_plugin_gui>(&self.instance, CLAP_EXT_GUI);
        // SAFETY: a non-null extension pointer from the plugin lives as long as the instance.
        unsafe { ext.as_ref() }.ok_or_else(|| "the plugin has no GUI extension".to_string())
    }

    /// Creates the plugin's GUI (X11, embedded) at `scale`, embeds it in the X11 window `parent`
    /// and shows it. Returns its size in pixels.
    pub fn open_gui(&mut self, parent: u32, scale: f64) -> Result<(u32, u32), String> {
        let gui = self.gui()?;
        let plugin = self.instance.raw_instance();
        let call = |name: &str, ok: bool| if ok { Ok(()) } else { Err(format!("gui.{name} failed")) };
        // SAFETY: main thread, valid plugin and extension; the window outlives the GUI (the caller
        // destroys the GUI with `close_gui` before the window).
        unsafe {
            let api = CLAP_WINDOW_API_X11.as_ptr();
            call(
                "is_api_supported",
                (gui.is_api_supported.ok_or("no is_api_supported")?)(plugin, api, false),
            )?;
            call("create", (gui.create.ok_or("no create")?)(plugin, api, false))?;
            // Hosts call set_scale before asking the size; nice-plug then scales its window.
            if let Some(set_scale) = gui.set_scale {
                set_scale(plugin, scale);
            }
            let (mut w, mut h) = (0u32, 0u32);
            call("get_size", (gui.get_size.ok_or("no get_size")?)(plugin, &mut w, &mut h))?;
            let window = clap_window {
                api,
                specific: clap_window_handle { x11: parent as c_ulong },
            };
            call("set_parent", (gui.set_parent.ok_or("no set_parent")?)(plugin, &window))?;
            call("show", (gui.show.ok_or("no show")?)(plugin))?;
            Ok((w, h))
        }
    }

    /// Asks the plugin's GUI to take a new size in pixels, as a host does when the user drags
    /// its window's edge.
    pub fn resize_gui(&mut self, width: u32, height: u32) -> Result<(), String> {
        let gui = self.gui()?;
        let plugin = self.instance.raw_instance();
        // SAFETY: main thread, valid plugin and extension.
        unsafe {
            if !gui.can_resize.is_some_and(|f| f(plugin)) {
                return Err("the GUI says it cannot be resized".into());
            }
            if !(gui.set_size.ok_or("no set_size")?)(plugin, width, height) {
                return Err("gui.set_size failed".into());
            }
        }
        Ok(())
    }

    /// Hides and destroys the plugin's GUI.
    pub fn close_gui(&mut self) {
        let Ok(gui) = self.gui() else { return };
        let plugin = self.instance.raw_instance();
        // SAFETY: main thread, valid plugin and extension.
        unsafe {
            if let Some(hide) = gui.hide {
                hide(plugin);
            }
            if let Some(destroy) = gui.destroy {
                destroy(plugin);
            }
        }
    }

    /// Stops processing and deactivates, as a host does when a track is disabled.
    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            let stopped = p.stop_processing();
            self.instance.deactivate(stopped);
        }
    }

    /// Activates again after [`Host::deactivate`] and starts processing.
    pub fn reactivate(&mut self) {
        let cfg = PluginAudioConfiguration {
            sample_rate: self.sample_rate,
            min_frames_count: 1,
            max_frames_count: self.max_block,
        };
        let stopped = self.instance.activate(|_, _| (), cfg).expect("activate");
        self.processor = Some(stopped.start_processing().expect("start processing"));
    }

    /// Stops processing, deactivates and destroys the instance.
    pub fn close(mut self) {
        if let Some(p) = self.processor.take() {
            let stopped = p.stop_processing();
            self.instance.deactivate(stopped);
        }
    }
}

fn extension<T>(instance: &PluginInstance<TestHost>, id: &CStr) -> *const T {
    let raw = instance.raw_instance();
    let get = raw.get_extension.expect("get_extension");
    // SAFETY: calling the plugin's get_extension with a valid plugin pointer and C string.
    unsafe { get(raw, id.as_ptr()) as *const T }
}

fn set_offline(instance: &PluginInstance<TestHost>) {
    let ext = extension::<clap_plugin_render>(instance, CLAP_EXT_RENDER);
    assert!(!ext.is_null(), "render extension");
    // SAFETY: `ext` is the plugin's render extension; called on the main thread while inactive.
    unsafe {
        let set = (*ext).set.expect("render.set");
        assert!(set(instance.raw_instance(), CLAP_RENDER_OFFLINE));
    }
}

unsafe extern "C" fn write_vec(stream: *const clap_ostream, buffer: *const c_void, size: u64) -> i64 {
    // SAFETY: ctx is the Vec<u8> passed by save_state_raw; buffer holds `size` bytes.
    unsafe {
        let v = &mut *((*stream).ctx as *mut Vec<u8>);
        v.extend_from_slice(std::slice::from_raw_parts(buffer as *const u8, size as usize));
    }
    size as i64
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

unsafe extern "C" fn read_slice(stream: *const clap_istream, buffer: *mut c_void, size: u64) -> i64 {
    // SAFETY: ctx is the Reader passed by load_state_raw; buffer has room for `size` bytes.
    unsafe {
        let r = &mut *((*stream).ctx as *mut Reader);
        let n = (size as usize).min(r.data.len() - r.pos);
        std::ptr::copy_nonoverlapping(r.data[r.pos..].as_ptr(), buffer as *mut u8, n);
        r.pos += n;
        n as i64
    }
}

pub fn save_state_raw(instance: &PluginInstance<TestHost>) -> Vec<u8> {
    let ext = extension::<clap_plugin_state>(instance, CLAP_EXT_STATE);
    assert!(!ext.is_null(), "state extension");
    let mut v: Vec<u8> = Vec::new();
    let stream = clap_ostream {
        ctx: &mut v as *mut Vec<u8> as *mut c_void,
        write: Some(write_vec),
    };
    // SAFETY: valid plugin, extension and stream for the duration of the call.
    let ok = unsafe { ((*ext).save.expect("state.save"))(instance.raw_instance(), &stream) };
    assert!(ok, "state save");
    v
}

pub fn load_state_raw(instance: &PluginInstance<TestHost>, bytes: &[u8]) {
    let ext = extension::<clap_plugin_state>(instance, CLAP_EXT_STATE);
    assert!(!ext.is_null(), "state extension");
    let mut r = Reader { data: bytes, pos: 0 };
    let stream = clap_istream {
        ctx: &mut r as *mut Reader as *mut c_void,
        read: Some(read_slice),
    };
    // SAFETY: valid plugin, extension and stream for the duration of the call.
    let ok = unsafe { ((*ext).load.expect("state.load"))(instance.raw_instance(), &stream) };
    assert!(ok, "state load");
}

/// A state blob (nice-plug's: u64 length + JSON) with `model-path` and some parameters set.
pub fn state_with(model: &Path, params: &[(&str, serde_json::Value)]) -> Vec<u8> {
    let mut fields = serde_json::Map::new();
    fields.insert(
        "model-path".into(),
        serde_json::Value::String(serde_json::to_string(&model.display().to_string()).unwrap()),
    );
    let mut p = serde_json::Map::new();
    for (k, v) in params {
        p.insert(k.to_string(), v.clone());
    }
    let json = serde_json::json!({ "version": "0.1.0", "params": p, "fields": fields });
    let body = serde_json::to_vec(&json).unwrap();
    let mut out = (body.len() as u64).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// The progression the synthetic model was trained on, in C.
pub fn progression() -> [Chord; 4] {
    [
        Chord::new(2, ChordQuality::Min7),
        Chord::new(7, ChordQuality::Dom7),
        Chord::new(0, ChordQuality::Maj7),
        Chord::new(9, ChordQuality::Min7),
    ]
}

/// Writes a Markov model package trained on synthetic lead lines (chord tones in eighths over
/// the user's bass roots, all 12 keys) into a fresh temp folder and returns it.
pub fn synthetic_model(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sideman-test-model-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut b = MarkovBuilder::new(20);
    for t in 0..12 {
        for rot in 0..4 {
            let mut s = Sequence::new(Role::Lead);
            s.tempo_bpm = Some(120.0);
            for bar in 0..16usize {
                let c = progression()[(bar + rot) % 4].transposed(t);
                let start = bar as f64 * 4.0;
                s.chords.push(ChordEvent { start, chord: Some(c) });
                // What the test plays: the bass root and the voicing of `chord_on`.
                s.inputs.push(Onset {
                    start,
                    pitch: 36 + c.root,
                });
                s.inputs
                    .extend(c.pitch_classes().map(|pc| Onset { start, pitch: 60 + pc }));
                let tones: Vec<u8> = c.pitch_classes().collect();
                for k in 0..8 {
                    let pc = tones[(k * 3 + bar + rot) % tones.len()];
                    s.notes.push(Note {
                        start: start + k as f64 * 0.5,
                        duration: 0.5,
                        pitch: 60 + pc,
                        velocity: 80,
                    });
                }
            }
            s.bars = 16;
            b.add_sequence(&Tokenizer::default().encode(&s).unwrap());
        }
    }
    let table = b.build(1, 1);
    table.save(&dir.join("markov.bin")).unwrap();
    let mut m = Manifest {
        trainer_revision: "test".into(),
        ..Manifest::new(
            "synthetic test lead",
            "chord tones over a ii-V-I-vi",
            ModelKind::Markov {
                file: "markov.bin".into(),
                order: 20,
            },
            Vocab::new(),
            vec![Role::Lead],
        )
    };
    Package::write(&dir, &mut m).unwrap();
    dir
}

/// A played chord as input events at `time`: NoteOns of the voicing plus the bass root.
pub fn chord_on(time: u32, c: Chord) -> Vec<(u32, bool, u8, f64)> {
    let mut v = vec![(time, true, 36 + c.root, 0.8)];
    v.extend(c.pitch_classes().map(|pc| (time, true, 60 + pc, 0.8)));
    v
}

/// Releases of [`chord_on`].
pub fn chord_off(time: u32, c: Chord) -> Vec<(u32, bool, u8, f64)> {
    let mut v = vec![(time, false, 36 + c.root, 0.0)];
    v.extend(c.pitch_classes().map(|pc| (time, false, 60 + pc, 0.0)));
    v
}

pub fn tick(beat: f64) -> i64 {
    beat_to_tick(beat)
}

#[allow(unused)]
pub fn cstring(s: &str) -> CString {
    CString::new(s).unwrap()
}
