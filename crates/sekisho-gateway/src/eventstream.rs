//! AWS event-stream framing: placeholder, being written.
