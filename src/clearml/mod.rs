//! ClearML and Trains servers: versions, containers, detection, planning (work in progress:
//! see the ClearML issues; only the pieces below exist so far).

pub mod containers;
pub mod version;
