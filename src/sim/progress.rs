//! How a long run tells the edge it is moving, so a terminal can draw a bar; the core never draws.

/// Receives progress as orders are placed, so a terminal can draw a bar. The core never draws.
pub trait Progress: Sync {
    fn advance(&self, orders: u64);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _orders: u64) {}
}
