//! Answer bodies in the two formats of the RPC protocol: JSON, and XML with the same structure.
//!
//! In XML, an object becomes nested elements, and an array under key `K` becomes repeated `<K>`
//! elements, which is how the cloud renders its wrapper-plus-array collections
//! (`<Instances><KVStoreInstance>…</KVStoreInstance><KVStoreInstance>…`).

use serde_json::Value;

/// The `Format` of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/json`.
    Json,
    /// `text/xml`; the protocol's default when `Format` is absent.
    Xml,
}

impl Format {
    /// Parses the `Format` parameter (case-insensitive); absent means XML, as in the cloud.
    pub(crate) fn from_param(value: Option<&str>) -> Option<Format> {
        match value {
            None | Some("") => Some(Format::Xml),
            Some(v) if v.eq_ignore_ascii_case("json") => Some(Format::Json),
            Some(v) if v.eq_ignore_ascii_case("xml") => Some(Format::Xml),
            Some(_) => None,
        }
    }

    /// The `Content-Type` of answers in this format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json;charset=utf-8",
            Format::Xml => "text/xml;charset=utf-8",
        }
    }
}

/// Renders `body` in `format`; `root` names the XML root element (`<Action>Response`, `Error`).
pub(crate) fn render(format: Format, root: &str, body: &Value) -> String {
    match format {
        Format::Json => body.to_string(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            element(&mut out, root, body);
            out
        }
    }
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                element(out, name, item);
            }
        }
        Value::Object(map) => {
            open(out, name);
            for (key, child) in map {
                element(out, key, child);
            }
            close(out, name);
        }
        Value::Null => {
            open(out, name);
            close(out, name);
        }
        Value::String(text) => {
            open(out, name);
            escape(out, text);
            close(out, name);
        }
        Value::Bool(_) | Value::Number(_) => {
            open(out, name);
            out.push_str(&value.to_string());
            close(out, name);
        }
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn formats_parse_case_insensitively_and_default_to_xml() {
        assert_eq!(Format::from_param(Some("json")), Some(Format::Json));
        assert_eq!(Format::from_param(Some("JSON")), Some(Format::Json));
        assert_eq!(Format::from_param(Some("Xml")), Some(Format::Xml));
        assert_eq!(Format::from_param(None), Some(Format::Xml));
        assert_eq!(Format::from_param(Some("yaml")), None);
    }

    #[test]
    fn arrays_become_repeated_elements_under_their_wrapper() {
        let body = json!({
            "RequestId": "R",
            "Instances": {"KVStoreInstance": [{"InstanceId": "r-1", "Port": 6379}, {"InstanceId": "r-2", "Port": 6380}]},
            "TotalCount": 2
        });
        assert_eq!(
            render(Format::Xml, "DescribeInstancesResponse", &body),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeInstancesResponse>\
             <Instances><KVStoreInstance><InstanceId>r-1</InstanceId><Port>6379</Port></KVStoreInstance>\
             <KVStoreInstance><InstanceId>r-2</InstanceId><Port>6380</Port></KVStoreInstance></Instances>\
             <RequestId>R</RequestId><TotalCount>2</TotalCount></DescribeInstancesResponse>"
        );
    }

    #[test]
    fn text_is_escaped() {
        let body = json!({"Message": "a < b & \"c\""});
        assert!(
            render(Format::Xml, "Error", &body)
                .contains("<Message>a &lt; b &amp; &quot;c&quot;</Message>")
        );
    }
}
