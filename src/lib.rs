//! ansel: a learned image codec.
#![warn(missing_docs)]

pub mod model;
pub mod train;
