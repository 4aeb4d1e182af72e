package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
)

// decodeJSON reads the request body into v, answering malformed JSON and
// wrong types with a 400 that says where the problem is. Member names are
// matched exactly, as the OpenAPI document and every other JSON reader
// match them: encoding/json alone would fill teamId from "TEAMID" too.
//
// It reads the body as received, never c.Body(), which inflates whatever
// Content-Encoding names, without a limit.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Request().Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return bodyNotAnObject()
	}
	var doc any
	if err := decodeOne(body, &doc); err != nil {
		return err
	}
	if dropMiscased(doc, reflect.TypeOf(v)) {
		// Rare: only a body with such a member pays for a second encoding.
		var err error
		if body, err = json.Marshal(doc); err != nil {
			return jsonError(err)
		}
	}
	return decodeOne(body, v)
}

// decodeOne decodes body, which must hold exactly one JSON value, into v.
func decodeOne(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return domain.Invalid("body", "The request body must hold a single JSON object.")
	}
	return nil
}

// dropMiscased removes, from doc decoded as it will be decoded into a
// value of type t, the object members whose name equals a field's JSON
// name only when case is ignored: they are unknown members, ignored like
// any other. It reports whether it removed any.
func dropMiscased(doc any, t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return false
	}
	dropped := false
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		fields := make(map[string]reflect.Type, t.NumField())
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case !f.IsExported() || name == "-":
				continue
			case name == "":
				name = f.Name
			}
			fields[name] = f.Type
		}
		for k, member := range obj {
			if ft, exact := fields[k]; exact {
				dropped = dropMiscased(member, ft) || dropped
				continue
			}
			for name := range fields {
				if strings.EqualFold(k, name) {
					delete(obj, k)
					dropped = true
					break
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if arr, ok := doc.([]any); ok {
			for _, el := range arr {
				dropped = dropMiscased(el, t.Elem()) || dropped
			}
		}
	case reflect.Map:
		if obj, ok := doc.(map[string]any); ok {
			for _, member := range obj {
				dropped = dropMiscased(member, t.Elem()) || dropped
			}
		}
	}
	return dropped
}

// bodyNotAnObject is the answer to a body that is empty or holds a JSON
// value other than an object.
func bodyNotAnObject() error {
	return domain.Invalid("body", "The request body must be a JSON object.")
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return bodyNotAnObject()
		}
		return domain.Invalid(typeErr.Field, "%s must be %s, not a JSON %s.", typeErr.Field, jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return domain.Invalid("body", "The request body is not valid JSON (at byte %d).", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Invalid("body", "The request body is not valid JSON: it ends too early.")
	default:
		return domain.Invalid("body", "The request body is not valid JSON: %s.", err)
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	default:
		return fmt.Sprintf("a %s", kind)
	}
}
