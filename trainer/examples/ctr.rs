use models::generate::*;
use models::package::Package;
use models::{Chord, ChordQuality, Note, Role};
use sideman_trainer::generate::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let pkg = Package::open(&args[1]).unwrap();
    let mode = args[2].as_str();
    let prog = [
        Chord::new(2, ChordQuality::Min7),
        Chord::new(7, ChordQuality::Dom7),
        Chord::new(0, ChordQuality::Maj7),
        Chord::new(0, ChordQuality::Maj7),
    ];
    for (temp, bias) in [(1.0f32, 0.0f32), (1.0, 1.0), (1.0, 1.5), (1.0, 2.0), (0.9, 1.0)] {
        let (mut all, mut fit, mut sall, mut sfit) = (0, 0, 0, 0);
        for seed in 1..=8u64 {
            let mut notes = vec![];
            for bar in 0..32 {
                let c = prog[bar % 4];
                let mut ks = vec![36 + c.root];
                if mode == "voicing" {
                    ks.extend(c.pitch_classes().map(|pc| 60 + pc));
                }
                for k in ks {
                    notes.push(Note {
                        start: bar as f64 * 4.0,
                        duration: 4.0,
                        pitch: k,
                        velocity: 100,
                    });
                }
                if mode == "walk" {
                    for b in 1..4 {
                        notes.push(Note {
                            start: bar as f64 * 4.0 + b as f64,
                            duration: 1.0,
                            pitch: 36 + c.root,
                            velocity: 100,
                        });
                    }
                }
            }
            let mut cfg = SessionConfig::new(Role::Lead);
            cfg.tempo_bpm = Some(140.0);
            cfg.seed = session_seed(seed);
            cfg.keep_bars = pkg.manifest.keep_bars();
            cfg.constraints = models::sampling::Constraints {
                chord_tones: bias,
                ..models::sampling::Constraints::for_role(Role::Lead)
            };
            cfg.sampler = models::sampling::SamplerConfig {
                temperature: temp,
                top_k: 0,
                top_p: 0.95,
            };
            let cond = InputFollower::follow_part(&notes, cfg.write_inputs);
            let m = load_model(&pkg, false).unwrap();
            let out = generate_any(m, cfg, &cond, 32).unwrap();
            for n in &out {
                let c = prog[((n.start / 4.0).floor() as usize) % 4];
                all += 1;
                if c.contains_pitch(n.pitch) {
                    fit += 1;
                }
                let r = n.start.rem_euclid(2.0);
                if r < 1e-6 {
                    sall += 1;
                    if c.contains_pitch(n.pitch) {
                        sfit += 1;
                    }
                }
            }
        }
        println!(
            "{mode} T={temp}: notes/bar {:.1} chord-tone {:.3} strong {:.3} ({sall})",
            all as f64 / 256.0,
            fit as f64 / all as f64,
            sfit as f64 / sall.max(1) as f64
        );
    }
}
