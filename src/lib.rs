//! ansel
