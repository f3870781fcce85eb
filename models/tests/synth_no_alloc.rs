//! The preview synth never allocates once built: note events and rendering are fit for an audio
//! thread. A counting global allocator (this test binary only) watches the audio path: the
//! allocations of the thread that runs it, not those of the test harness's own threads (which
//! allocate now and then, more often on a loaded machine, and once failed this test in CI).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use models::synth::{DRUM_CHANNEL, MAX_VOICES, Program, Synth};

/// Counts the allocations of a thread while its `WATCHING` is set.
struct Counting;

thread_local! {
    // const-initialised and without a destructor: reading it never allocates.
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn watching() -> bool {
    WATCHING.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if watching() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if watching() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn synth_never_allocates_on_the_audio_path() {
    // Every call the plugin's preview makes: programs, notes of both pitched sounds and the kit,
    // releases, key-ups, chokes, renders of any length, reset.
    let mut synth = Synth::new(48_000.0);
    let mut block = vec![0.0f32; 2 * 512];
    WATCHING.with(|w| w.set(true));
    synth.set_program(1, Program::Bass);
    for i in 0..200u32 {
        let key = (24 + i * 7 % 80) as u8;
        synth.note_on((i % 3) as u8, key, 40 + (i % 80) as u8);
        synth.note_on(DRUM_CHANNEL, [36, 38, 42, 46, 49, 51, 45, 75][i as usize % 8], 100);
        synth.render(&mut block[..2 * (1 + i as usize % 512)]);
        if i % 5 == 0 {
            synth.note_off((i % 3) as u8, key);
        }
        if i % 64 == 63 {
            synth.all_notes_off();
        }
        if i % 50 == 49 {
            synth.choke_all();
            synth.set_program(2, if i % 100 == 49 { Program::Bass } else { Program::EPiano });
        }
    }
    assert_eq!(synth.active_voices(), MAX_VOICES, "the pool was full: stealing ran");
    synth.render(&mut block);
    synth.reset();
    synth.render(&mut block);
    WATCHING.with(|w| w.set(false));
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0, "allocations on the audio path");
}
