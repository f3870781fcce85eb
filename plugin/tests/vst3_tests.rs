//! The VST3 build driven in-process through its COM interfaces (the `vst3` bindings nice-plug
//! re-exports), in the orders real hosts use that the Ardour test does not cover.
//!
//! Runs with `assert_process_allocs` like the CLAP host tests: an allocation inside `process()`
//! aborts the test binary.

use std::ffi::{c_char, c_void};
use std::ptr;

use nice_plug::wrapper::vst3::vst3::Steinberg::Vst::ProcessModes_::kRealtime;
use nice_plug::wrapper::vst3::vst3::Steinberg::Vst::SymbolicSampleSizes_::kSample32;
use nice_plug::wrapper::vst3::vst3::Steinberg::Vst::{
    AudioBusBuffers, AudioBusBuffers__type0, IAudioProcessor, IAudioProcessorTrait, IComponent, IComponentTrait,
    ProcessData, ProcessSetup,
};
use nice_plug::wrapper::vst3::vst3::Steinberg::{
    FIDString, IPluginBaseTrait, IPluginFactory, IPluginFactoryTrait, PClassInfo, PFactoryInfo, kResultOk, tresult,
};
use nice_plug::wrapper::vst3::vst3::{ComPtr, Interface};

/// The plugin's VST3 factory, as a host gets it from `GetPluginFactory`.
fn factory() -> ComPtr<IPluginFactory> {
    // SAFETY: GetPluginFactory returns a new reference to the plugin's IPluginFactory.
    unsafe { ComPtr::from_raw(sideman::GetPluginFactory() as *mut IPluginFactory) }.expect("a plugin factory")
}

/// A NUL-terminated C string in a fixed array.
fn text(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8(bytes).expect("UTF-8")
}

/// One Sideman instance made by the factory and initialised, as a host holds it.
struct Vst3 {
    component: ComPtr<IComponent>,
    processor: ComPtr<IAudioProcessor>,
}

impl Vst3 {
    fn new() -> Vst3 {
        let factory = factory();
        // SAFETY: valid factory; `info` and `obj` are written by the calls.
        unsafe {
            let mut info: PClassInfo = std::mem::zeroed();
            assert_eq!(factory.getClassInfo(0, &mut info), kResultOk);
            let mut obj: *mut c_void = ptr::null_mut();
            let iid = IComponent::IID.as_ptr() as FIDString;
            assert_eq!(factory.createInstance(info.cid.as_ptr(), iid, &mut obj), kResultOk);
            let component = ComPtr::from_raw(obj as *mut IComponent).expect("an IComponent");
            assert_eq!(component.initialize(ptr::null_mut()), kResultOk);
            let processor = component.cast::<IAudioProcessor>().expect("an IAudioProcessor");
            Vst3 { component, processor }
        }
    }

    fn set_active(&self, active: bool) -> tresult {
        // SAFETY: an initialised component, on the thread that made it (the host's main thread).
        unsafe { self.component.setActive(active as u8) }
    }

    fn setup_processing(&self, sample_rate: f64, max_block: i32) -> tresult {
        let mut setup = ProcessSetup {
            processMode: kRealtime as i32,
            symbolicSampleSize: kSample32 as i32,
            maxSamplesPerBlock: max_block,
            sampleRate: sample_rate,
        };
        // SAFETY: an initialised processor and a valid setup.
        unsafe { self.processor.setupProcessing(&mut setup) }
    }

    fn set_processing(&self, processing: bool) -> tresult {
        // SAFETY: an initialised processor.
        unsafe { self.processor.setProcessing(processing as u8) }
    }

    /// Processes one stopped block of `len` samples into a stereo output with no events, as a
    /// host's scan does; asserts the output is silent.
    fn process(&self, len: usize) -> tresult {
        let mut left = vec![1.0f32; len];
        let mut right = vec![1.0f32; len];
        let mut channels = [left.as_mut_ptr(), right.as_mut_ptr()];
        let mut output = AudioBusBuffers {
            numChannels: 2,
            silenceFlags: 0,
            __field0: AudioBusBuffers__type0 {
                channelBuffers32: channels.as_mut_ptr(),
            },
        };
        let mut data = ProcessData {
            processMode: kRealtime as i32,
            symbolicSampleSize: kSample32 as i32,
            numSamples: len as i32,
            numInputs: 0,
            numOutputs: 1,
            inputs: ptr::null_mut(),
            outputs: &mut output,
            inputParameterChanges: ptr::null_mut(),
            outputParameterChanges: ptr::null_mut(),
            inputEvents: ptr::null_mut(),
            outputEvents: ptr::null_mut(),
            processContext: ptr::null_mut(),
        };
        // SAFETY: the buffers outlive the call; null lists and context are allowed by VST3.
        let result = unsafe { self.processor.process(&mut data) };
        assert!(
            left.iter().chain(&right).all(|&x| x == 0.0),
            "Sideman's audio output is silence"
        );
        result
    }
}

impl Drop for Vst3 {
    fn drop(&mut self) {
        // SAFETY: the component was initialised in `new`.
        unsafe { self.component.terminate() };
    }
}

/// Issue 13: Carla's VST3 scan activates the plugin before `setupProcessing` (then sets up while
/// active, deactivates, activates again and processes a block). Activation works with a default
/// setup, and a setup sent while active re-activates the plugin with it.
#[test]
fn r13_vst3_activates_before_setup_processing() {
    // Activated without any setup, the plugin processes (at the default setup).
    let p = Vst3::new();
    assert_eq!(p.set_active(true), kResultOk, "setActive(true) before setupProcessing");
    assert_eq!(p.set_processing(true), kResultOk);
    assert_eq!(p.process(512), kResultOk);
    assert_eq!(p.set_processing(false), kResultOk);
    assert_eq!(p.set_active(false), kResultOk);
    drop(p);

    // Carla's scan, step by step (carla-discovery's `do_vst3_check`: 44.1 kHz, 512).
    let p = Vst3::new();
    assert_eq!(p.set_active(true), kResultOk);
    assert_eq!(p.setup_processing(44_100.0, 512), kResultOk);
    assert_eq!(p.set_active(false), kResultOk);
    assert_eq!(p.set_active(true), kResultOk);
    assert_eq!(p.set_processing(true), kResultOk);
    assert_eq!(p.process(512), kResultOk);
    assert_eq!(p.set_processing(false), kResultOk);
    assert_eq!(p.set_active(false), kResultOk);
    drop(p);

    // A different setup sent while active takes effect: blocks up to its maximum process.
    let p = Vst3::new();
    assert_eq!(p.set_active(true), kResultOk);
    assert_eq!(p.setup_processing(48_000.0, 2048), kResultOk);
    assert_eq!(p.set_processing(true), kResultOk);
    assert_eq!(p.process(2048), kResultOk);
    assert_eq!(p.process(17), kResultOk);
    assert_eq!(p.set_processing(false), kResultOk);
    assert_eq!(p.set_active(false), kResultOk);
}

/// The usual order (setup, then activate) still works.
#[test]
fn vst3_setup_then_activate_processes() {
    let p = Vst3::new();
    assert_eq!(p.setup_processing(48_000.0, 512), kResultOk);
    assert_eq!(p.set_active(true), kResultOk);
    assert_eq!(p.set_processing(true), kResultOk);
    assert_eq!(p.process(512), kResultOk);
    assert_eq!(p.set_processing(false), kResultOk);
    assert_eq!(p.set_active(false), kResultOk);
}

/// Issue 13: the factory names the project's vendor, home page and address, not placeholders.
#[test]
fn r13_vst3_factory_names_the_project() {
    let factory = factory();
    // SAFETY: valid factory; `info` is written by the call.
    let info = unsafe {
        let mut info: PFactoryInfo = std::mem::zeroed();
        assert_eq!(factory.getFactoryInfo(&mut info), kResultOk);
        info
    };
    assert_eq!(text(&info.vendor), "Sideman developers");
    assert_eq!(text(&info.url), sideman::PROJECT_URL);
    assert_eq!(text(&info.email), sideman::PROJECT_EMAIL);
    for field in [text(&info.url), text(&info.email)] {
        assert!(!field.contains("example.invalid"), "{field}");
    }
}
