//! `--device cpu|gpu|auto`, shared by the subcommands that run the network.

use ansel::backend::{DeviceChoice, SelectedDevice};

/// Resolves the user's choice; says so on stderr when `auto` wanted a GPU and took the CPU.
pub fn select(choice: DeviceChoice) -> Result<SelectedDevice, ansel::Error> {
    let device = SelectedDevice::select(choice)?;
    // Without the `wgpu` feature there is no GPU to miss: stay quiet.
    if let (Some(why), true) = (device.fallback(), cfg!(feature = "wgpu")) {
        eprintln!("ansel: note: running on the CPU ({why})");
    }
    Ok(device)
}
