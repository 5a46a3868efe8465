//! `json_query`: JMESPath over plain data, as Ansible's filter (community.general) does.

use serde_json::Value;

pub fn query(data: &Value, expr: &str) -> Result<Value, String> {
    let e = jmespath::compile(expr).map_err(|e| e.to_string())?;
    let var = jmespath::Variable::from_json(&data.to_string()).map_err(|e| e.to_string())?;
    let out = e.search(var).map_err(|e| e.to_string())?;
    serde_json::to_value(&*out).map_err(|e| e.to_string())
}
