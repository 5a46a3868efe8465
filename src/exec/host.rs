//! What the run knows about one host: its variables, facts, registered results, connection,
//! and whether it has failed or become unreachable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

pub struct HostState {
    pub name: String,
    /// Inventory variables, layered at the start and again when add_host/group_by change them.
    pub inventory: RwLock<Arc<Map<String, Value>>>,
    /// Gathered facts (`ansible_*` and `ansible_facts`).
    pub facts: RwLock<Arc<Map<String, Value>>>,
    /// `set_fact` and `register` results.
    pub set_facts: RwLock<Arc<Map<String, Value>>>,
    pub include_vars: RwLock<Arc<Map<String, Value>>>,
    pub conn: Arc<crate::connection::Slot>,
    /// Held while the connection is being opened, so it is opened once.
    pub connecting: tokio::sync::Mutex<()>,
    pub failed: AtomicBool,
    pub unreachable: AtomicBool,
}

impl HostState {
    pub fn new(name: &str, inventory: Map<String, Value>) -> HostState {
        HostState {
            name: name.to_string(),
            inventory: RwLock::new(Arc::new(inventory)),
            // ansible_facts is always defined, empty until facts are gathered.
            facts: RwLock::new(Arc::new([("ansible_facts".to_string(), Value::Object(Map::new()))].into_iter().collect())),
            set_facts: RwLock::new(Arc::new(Map::new())),
            include_vars: RwLock::new(Arc::new(Map::new())),
            conn: Arc::default(),
            connecting: tokio::sync::Mutex::new(()),
            failed: AtomicBool::new(false),
            unreachable: AtomicBool::new(false),
        }
    }

    pub fn set_inventory(&self, vars: Map<String, Value>) {
        if let Ok(mut g) = self.inventory.write() {
            *g = Arc::new(vars);
        }
    }

    pub fn snapshot(lock: &RwLock<Arc<Map<String, Value>>>) -> Arc<Map<String, Value>> {
        lock.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Add variables to one of the host's layers (copy on write: readers keep their snapshot).
    pub fn update(lock: &RwLock<Arc<Map<String, Value>>>, vars: Map<String, Value>) {
        if let Ok(mut g) = lock.write() {
            let mut m = (**g).clone();
            for (k, v) in vars {
                m.insert(k, v);
            }
            *g = Arc::new(m);
        }
    }

    pub fn set_facts(&self, facts: Map<String, Value>) {
        // Gathered facts are reachable both as ansible_x and as ansible_facts.x.
        let mut plain = match Self::snapshot(&self.facts).get("ansible_facts") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let mut top = Map::new();
        for (k, v) in facts {
            let short = k.strip_prefix("ansible_").unwrap_or(&k).to_string();
            plain.insert(short, v.clone());
            top.insert(k, v);
        }
        top.insert("ansible_facts".into(), Value::Object(plain));
        Self::update(&self.facts, top);
    }

    pub fn clear_facts(&self) {
        if let Ok(mut g) = self.facts.write() {
            *g = Arc::new([("ansible_facts".to_string(), Value::Object(Map::new()))].into_iter().collect());
        }
    }

    pub fn is_down(&self) -> bool {
        self.failed.load(Ordering::Relaxed) || self.unreachable.load(Ordering::Relaxed)
    }

    /// Drop the connection (the next task opens a new one).
    pub fn close(&self) {
        self.conn.set(None);
    }

    /// Close the connection cleanly at the end of the run.
    pub async fn disconnect(&self) {
        let conn = self.conn.take();
        if let Some(c) = conn {
            c.close().await;
        }
    }
}
