//! AWS wire protocols: placeholder, being written.
