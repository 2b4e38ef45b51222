//! A value refused at a config or Procfile key: the key and why. A leaf, so each value type
//! (limits, signals, resources) can refuse without importing the layers built from them.

/// The key a refused value was given under, and what to write instead.
pub type KeyError = (&'static str, String);
