package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jmespath/go-jmespath"
)

// outputFormats are the values of -o/--output, as in az.
var outputFormats = []string{"json", "jsonc", "table", "tsv", "none"}

// outputSpec is a validated -o/--output and --query pair.
type outputSpec struct {
	format string
	query  *jmespath.JMESPath
}

// newOutputSpec validates the flags before anything is sent, so a typo in
// --query costs no request.
func newOutputSpec(format, query string) (outputSpec, error) {
	f, err := oneOf("--output", format, outputFormats...)
	if err != nil {
		return outputSpec{}, err
	}
	o := outputSpec{format: f}
	if query != "" {
		if o.query, err = jmespath.Compile(query); err != nil {
			return outputSpec{}, usageError{fmt.Errorf("invalid --query: %w", err)}
		}
	}
	return o, nil
}

// write applies the query to v and prints the result in the chosen format.
// A null result prints nothing, as in az.
func (o outputSpec) write(w io.Writer, v any) error {
	if o.format == "none" {
		return nil
	}
	data, err := toGeneric(v)
	if err != nil {
		return err
	}
	if o.query != nil {
		if data, err = o.query.Search(data); err != nil {
			// go-jmespath's runtime errors quote the data they failed on,
			// which may be a secret value: never print them.
			return errors.New("--query: the expression cannot be evaluated on this output (a function got an argument of the wrong type)")
		}
	}
	if data == nil {
		return nil
	}
	var buf bytes.Buffer
	switch o.format {
	case "json", "jsonc":
		writeJSON(&buf, data, "", o.format == "jsonc")
		buf.WriteByte('\n')
	case "table":
		if err := writeTable(&buf, data); err != nil {
			return err
		}
	case "tsv":
		writeTSV(&buf, data)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// toGeneric turns v into the values JSON decoding yields (maps, slices,
// float64, string, bool, nil), which is what JMESPath works on.
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// ANSI colours of jsonc, close to az's.
const (
	colorKey     = "\x1b[94m"
	colorString  = "\x1b[33m"
	colorLiteral = "\x1b[36m"
	colorReset   = "\x1b[0m"
)

// writeJSON prints v indented by two spaces with sorted keys, like az's
// json output (Python's json.dumps with sort_keys and ensure_ascii off).
func writeJSON(w *bytes.Buffer, v any, indent string, color bool) {
	paint := func(c, s string) {
		if color {
			s = c + s + colorReset
		}
		w.WriteString(s)
	}
	switch x := v.(type) {
	case map[string]any:
		writeJSONObject(w, x, indent, color, paint)
	case []any:
		writeJSONArray(w, x, indent, color)
	case string:
		paint(colorString, jsonString(x))
	default:
		b, _ := json.Marshal(x)
		paint(colorLiteral, string(b))
	}
}

func writeJSONObject(w *bytes.Buffer, m map[string]any, indent string, color bool, paint func(c, s string)) {
	if len(m) == 0 {
		w.WriteString("{}")
		return
	}
	w.WriteString("{\n")
	for i, k := range sortedKeys(m) {
		w.WriteString(indent + "  ")
		paint(colorKey, jsonString(k))
		w.WriteString(": ")
		writeJSON(w, m[k], indent+"  ", color)
		if i < len(m)-1 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString(indent + "}")
}

func writeJSONArray(w *bytes.Buffer, a []any, indent string, color bool) {
	if len(a) == 0 {
		w.WriteString("[]")
		return
	}
	w.WriteString("[\n")
	for i, e := range a {
		w.WriteString(indent + "  ")
		writeJSON(w, e, indent+"  ", color)
		if i < len(a)-1 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString(indent + "]")
}

// jsonString quotes s as JSON without HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// tableSkipKeys are left out of tables, as in az.
var tableSkipKeys = map[string]bool{"id": true, "type": true, "etag": true}

// writeTable prints az's "table" format: one row per list element, columns
// from each object's top-level scalar fields (sorted, first letter
// upper-cased, id/type/etag and nulls left out), headers underlined with
// dashes. Numeric columns are right-aligned.
func writeTable(w *bytes.Buffer, data any) error {
	items, ok := data.([]any)
	if !ok {
		items = []any{data}
	}
	var headers []string
	seen := map[string]bool{}
	rows := make([]map[string]any, len(items))
	for i, it := range items {
		keys, row := tableRow(it)
		rows[i] = row
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				headers = append(headers, k)
			}
		}
	}
	if len(items) == 0 {
		w.WriteByte('\n')
		return nil
	}
	if len(headers) == 0 {
		return errors.New("table output unavailable: use --query to select the fields to show")
	}
	renderTable(w, headers, rows)
	return nil
}

// tableRow returns the columns of one element in order and their values.
func tableRow(item any) ([]string, map[string]any) {
	row := map[string]any{}
	var keys []string
	add := func(k string, v any) {
		keys = append(keys, k)
		row[k] = v
	}
	switch x := item.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			v := x[k]
			if tableSkipKeys[k] || v == nil || isContainer(v) {
				continue
			}
			add(strings.ToUpper(k[:1])+k[1:], v)
		}
	case []any:
		for i, v := range x {
			add(fmt.Sprintf("Column%d", i+1), v)
		}
	default:
		add("Result", x)
	}
	return keys, row
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func renderTable(w *bytes.Buffer, headers []string, rows []map[string]any) {
	widths := make([]int, len(headers))
	numeric := make([]bool, len(headers))
	cells := make([][]string, len(rows))
	for c, h := range headers {
		widths[c] = len([]rune(h)) + 2
		numeric[c] = true
	}
	for r, row := range rows {
		cells[r] = make([]string, len(headers))
		for c, h := range headers {
			v, ok := row[h]
			if _, isNum := v.(float64); ok && v != nil && !isNum {
				numeric[c] = false
			}
			cells[r][c] = tableCell(v)
			widths[c] = max(widths[c], len([]rune(cells[r][c])))
		}
	}
	dashes := make([]string, len(headers))
	for c := range headers {
		dashes[c] = strings.Repeat("-", widths[c])
	}
	writeTableLine(w, headers, widths, numeric)
	writeTableLine(w, dashes, widths, numeric)
	for _, line := range cells {
		writeTableLine(w, line, widths, numeric)
	}
}

func writeTableLine(w *bytes.Buffer, cells []string, widths []int, right []bool) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
		if right[i] {
			parts[i] = pad + c
		} else {
			parts[i] = c + pad
		}
	}
	w.WriteString(strings.TrimRight(strings.Join(parts, "  "), " ") + "\n")
}

// tableCell formats a scalar the way Python's tabulate shows it.
func tableCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return pyBool(x)
	case string:
		return x
	case float64:
		return formatNumber(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// writeTSV prints az's "tsv" format: one line per list element; an
// object's values in key order, separated by tabs; nested objects print
// as empty fields and lists as their length, so columns stay aligned.
func writeTSV(w *bytes.Buffer, data any) {
	items, ok := data.([]any)
	if !ok {
		items = []any{data}
	}
	for _, it := range items {
		var fields []string
		switch x := it.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				fields = append(fields, tsvField(x[k]))
			}
		case []any:
			for _, v := range x {
				fields = append(fields, tsvField(v))
			}
		case bool:
			fields = []string{strconv.FormatBool(x)}
		default:
			fields = []string{tsvField(x)}
		}
		w.WriteString(strings.Join(fields, "\t") + "\n")
	}
}

// tsvField formats one TSV field as az does (Python's str()).
func tsvField(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case []any:
		return strconv.Itoa(len(x))
	case map[string]any:
		return ""
	case bool:
		return pyBool(x)
	case float64:
		return formatNumber(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// formatNumber prints integers without a fraction.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
