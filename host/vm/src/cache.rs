//! Module caches: linked instances (`InstancePre`) in memory, compiled artifacts on disk in the
//! node's data directory.
//!
//! The key is (code hash, engine compatibility hash, gas schedule version, instrumentation
//! version): anything that changes the artifact changes the key, so no stale artifact can survive an
//! upgrade with old prices. Disk files carry a Keccak-256 checksum of their contents, checked before
//! the bytes reach wasmtime's (trusting) deserializer.

use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash as _, Hasher as _};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::host::HostState;
use tao_types::Hash;
use wasmtime::{Engine, InstancePre, Module};

use crate::{VmFault, admission::Admitted, gas::GasSchedule, instrument::INSTRUMENTATION_VERSION};

/// Most linked modules kept in memory.
const MEMORY_ENTRIES: usize = 256;

type Linked = InstancePre<HostState>;
type MemoryCache = (BTreeMap<Hash, Linked>, VecDeque<Hash>);

pub(crate) struct Cache {
    engine_hash: u64,
    gas_version: u32,
    dir: Option<PathBuf>,
    memory: Mutex<MemoryCache>,
}

impl Cache {
    pub(crate) fn new(engine: &Engine, gas: &GasSchedule, dir: Option<PathBuf>) -> Result<Self, VmFault> {
        // SipHash with fixed zero keys: stable for a given build, which is all a cache key needs.
        #[allow(deprecated, reason = "SipHasher is the stable, keyless hasher we want here")]
        let mut hasher = std::hash::SipHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|e| VmFault::Cache(format!("{}: {e}", dir.display())))?;
        }
        Ok(Cache {
            engine_hash: hasher.finish(),
            gas_version: gas.version,
            dir,
            memory: Mutex::new((BTreeMap::new(), VecDeque::new())),
        })
    }

    fn file_name(&self, code_hash: &Hash) -> String {
        format!(
            "{}-e{:016x}-g{}-i{}.cwasm",
            hex_of(&code_hash.0),
            self.engine_hash,
            self.gas_version,
            INSTRUMENTATION_VERSION
        )
    }

    /// The linked module for `admitted`, from memory, disk or the compiler, in that order.
    pub(crate) fn prepared(
        &self,
        engine: &Engine,
        admitted: &Admitted,
        link: impl FnOnce(&Module) -> Result<Linked, VmFault>,
    ) -> Result<Linked, VmFault> {
        let key = admitted.code_hash;
        if let Some(linked) = self.lock().0.get(&key) {
            return Ok(linked.clone());
        }
        let module = match self.load(engine, &key) {
            Some(module) => module,
            None => {
                let module = Module::new(engine, &admitted.instrumented)
                    .map_err(|e| VmFault::Compile(format!("{e:#}")))?;
                self.store(&key, &module)?;
                module
            }
        };
        let linked = link(&module)?;
        let mut memory = self.lock();
        if memory.1.len() >= MEMORY_ENTRIES
            && let Some(oldest) = memory.1.pop_front()
        {
            memory.0.remove(&oldest);
        }
        memory.0.insert(key, linked.clone());
        memory.1.push_back(key);
        Ok(linked)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryCache> {
        self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Loads an artifact whose checksum matches; anything else is treated as a miss.
    fn load(&self, engine: &Engine, key: &Hash) -> Option<Module> {
        let path = self.dir.as_ref()?.join(self.file_name(key));
        let bytes = std::fs::read(path).ok()?;
        let (sum, artifact) = bytes.split_at_checked(32)?;
        if sum != Hash::of(artifact).0 {
            return None;
        }
        // SAFETY: the bytes were written by `store` below into the node's own data directory and
        // their checksum matches, so they are an artifact this engine produced; wasmtime also
        // refuses artifacts from another version or configuration.
        #[allow(unsafe_code, reason = "loading our own checksummed artifacts")]
        unsafe {
            Module::deserialize(engine, artifact).ok()
        }
    }

    fn store(&self, key: &Hash, module: &Module) -> Result<(), VmFault> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let artifact = module.serialize().map_err(|e| VmFault::Cache(format!("{e:#}")))?;
        let mut bytes = Hash::of(&artifact).0.to_vec();
        bytes.extend_from_slice(&artifact);
        // Write then rename, so a crash never leaves a half-written artifact under the real name.
        let path = dir.join(self.file_name(key));
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| VmFault::Cache(format!("{}: {e}", path.display())))
    }

    /// Path of the artifact for `code_hash`, for tests and tools.
    pub(crate) fn artifact_path(&self, code_hash: &Hash) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(self.file_name(code_hash)))
    }

    /// Drops the in-memory entries, so the next load comes from disk.
    pub(crate) fn clear_memory(&self) {
        let mut memory = self.lock();
        memory.0.clear();
        memory.1.clear();
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
