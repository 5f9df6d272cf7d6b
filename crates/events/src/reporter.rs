//! The one trait every reporter implements: the runner sends events, reporters write them.

use crate::Event;

/// Receives every event of a run, in order.
pub trait Reporter {
    fn report(&mut self, event: &Event);
    /// The first write error met, if any (a closed pipe, a full disk).
    fn finish(&mut self) -> std::io::Result<()>;
}
