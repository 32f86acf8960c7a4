//! The host instruction set, configured once for both the JIT and object files.

use crate::JitError;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};

/// The host ISA, optimizing for speed; `pic` for object files, off for the JIT (which the
/// x86-64 backend requires).
pub fn host_isa(pic: bool) -> Result<OwnedTargetIsa, JitError> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags
            .set(name, value)
            .map_err(|err| JitError::Host(format!("setting `{name}`: {err}")))
    };
    set(&mut flags, "opt_level", "speed")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", if pic { "true" } else { "false" })?;
    let isa = cranelift_native::builder().map_err(|err| JitError::Host(err.to_string()))?;
    isa.finish(settings::Flags::new(flags))
        .map_err(|err| JitError::Host(err.to_string()))
}
