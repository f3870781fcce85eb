//! Weimar Jazz Database CSV pairs (to be completed).
