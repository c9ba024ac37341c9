package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/hearth-space/hearth/internal/errs"
)

// DecodeJSON reads r's body into dst strictly: the content type must be JSON
// (415 otherwise), the body at most maxBytes (413), valid UTF-8, one JSON
// value with no unknown fields and nothing after it. Field type mismatches
// come back as Validation errors naming the field.
func DecodeJSON(r *http.Request, maxBytes int64, dst any) error {
	if err := requireJSON(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errs.E(errs.BodyTooLarge, "the request body is larger than %d bytes", maxBytes)
		}
		return errs.Wrap(errs.MalformedBody, err, "the request body could not be read")
	}
	return DecodeJSONBytes(body, dst)
}

// DecodeJSONBytes decodes one JSON value from body into dst with the rules
// of DecodeJSON (everything but the content type and size).
func DecodeJSONBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errs.E(errs.MalformedBody, "the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return errs.E(errs.MalformedBody, "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.MalformedBody, "the request body has data after the JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return errs.Wrap(errs.MalformedBody, err, "the request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Wrap(errs.MalformedBody, err, "the request body is truncated JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errs.Wrap(errs.MalformedBody, err, "the request body must be a JSON object")
		}
		return &errs.Error{Code: errs.Validation, Message: "the request has invalid fields", Err: err,
			Fields: []errs.FieldError{{Field: field, Message: "must be a " + jsonKind(typ.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for unknown fields.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &errs.Error{Code: errs.Validation, Message: "the request has invalid fields", Err: err,
			Fields: []errs.FieldError{{Field: name, Message: "is not a known field"}}}
	}
	return errs.Wrap(errs.MalformedBody, err, "the request body could not be decoded")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}

func requireJSON(ct string) error {
	if ct == "" {
		return errs.E(errs.UnsupportedMediaType, "set Content-Type: application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errs.E(errs.UnsupportedMediaType, "content type %q is not supported; send application/json", truncate(ct, 64))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s…", s[:n])
}
