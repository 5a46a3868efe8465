//! `now(utc=False, fmt=None)`: the current time, as Ansible's Jinja global gives it. With `fmt`
//! it is that strftime text; without, a datetime that prints as Python's (`2026-12-01
//! 10:25:46.123456`) and has `strftime()`, `timestamp()` and the usual attributes.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Value as JValue};
use minijinja::{Error, ErrorKind, State};

use super::format_time;

#[derive(Debug)]
struct DateTime {
    secs: i64,
    micros: u32,
    utc: bool,
}

impl DateTime {
    /// strftime with Python's `%f` (microseconds), which C's strftime lacks.
    fn strftime(&self, f: &str) -> String {
        format_time(&f.replace("%f", &format!("{:06}", self.micros)), self.secs, self.utc)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.strftime("%Y-%m-%d %H:%M:%S.%f"))
    }
}

impl Object for DateTime {
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let part = |f: &str| self.strftime(f).parse::<i64>().ok().map(JValue::from);
        match key.as_str()? {
            "year" => part("%Y"),
            "month" => part("%m"),
            "day" => part("%d"),
            "hour" => part("%H"),
            "minute" => part("%M"),
            "second" => part("%S"),
            "microsecond" => Some(JValue::from(self.micros)),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &mut State, name: &str, args: &[JValue]) -> Result<JValue, Error> {
        match name {
            "strftime" => {
                let f = args
                    .first()
                    .and_then(|a| a.as_str())
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "strftime() needs a format"))?;
                Ok(JValue::from(self.strftime(f)))
            }
            "timestamp" => Ok(JValue::from(self.secs as f64 + f64::from(self.micros) / 1e6)),
            "isoformat" => Ok(JValue::from(self.strftime("%Y-%m-%dT%H:%M:%S.%f"))),
            _ => Err(Error::new(ErrorKind::UnknownMethod, format!("datetime has no method {name}"))),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub fn now(kw: Kwargs) -> Result<JValue, Error> {
    let utc: Option<bool> = kw.get("utc")?;
    let fmt: Option<String> = kw.get("fmt")?;
    kw.assert_all_used()?;
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let t = DateTime { secs: d.as_secs() as i64, micros: d.subsec_micros(), utc: utc.unwrap_or(false) };
    Ok(match fmt {
        Some(f) => JValue::from(t.strftime(&f)),
        None => JValue::from_object(t),
    })
}
