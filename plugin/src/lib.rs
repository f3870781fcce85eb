//! The Sideman plugin (engine to come).
