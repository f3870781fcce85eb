//! The trainer's PRNG is the one sampling uses (`models::sampling::Rng`, SplitMix64): one seeded,
//! fully specified generator for initialisation, data order and generation alike. Its state is
//! derived from the seed and the epoch, so a resumed run draws exactly what the killed one would.

pub use models::sampling::Rng;
