package telnyx

import (
	"bytes"
	"encoding/json"
	"time"
)

// The types in this file mirror Telnyx's JSON. They are deliberately
// lenient: Telnyx's own documents disagree on some shapes (string or number
// codes and IDs, meta or metadata), and a field we do not need must never
// make a good answer unreadable.

// flexString decodes a JSON string or number as a string. Telnyx documents
// error codes and IDs as strings, but older payloads carry numbers.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	if b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = flexString(n.String())
	return nil
}

// flexTime decodes an RFC 3339 timestamp, leaving the zero time for an empty,
// null or unreadable value: a timestamp we cannot read is not worth failing
// an order look-up over.
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s == "" {
		*t = flexTime{}
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		*t = flexTime{}
		return nil
	}
	*t = flexTime(parsed)
	return nil
}

func (t flexTime) time() time.Time { return time.Time(t) }

// errorBody is Telnyx's error envelope.
type errorBody struct {
	Errors []wireError `json:"errors"`
}

type wireError struct {
	Code   flexString `json:"code"`
	Title  string     `json:"title"`
	Detail string     `json:"detail"`
	Source struct {
		Pointer   string `json:"pointer"`
		Parameter string `json:"parameter"`
	} `json:"source"`
	Meta json.RawMessage `json:"meta"`
}

// searchResponse is the answer of GET /available_phone_numbers. Some
// versions of the API name the summary "metadata" instead of "meta".
type searchResponse struct {
	Data     []availableNumber `json:"data"`
	Meta     *searchMeta       `json:"meta"`
	Metadata *searchMeta       `json:"metadata"`
}

// summary returns whichever of meta or metadata the answer carried.
func (r searchResponse) summary() searchMeta {
	switch {
	case r.Meta != nil:
		return *r.Meta
	case r.Metadata != nil:
		return *r.Metadata
	}
	return searchMeta{TotalResults: len(r.Data)}
}

type searchMeta struct {
	TotalResults      int `json:"total_results"`
	BestEffortResults int `json:"best_effort_results"`
}

type availableNumber struct {
	RecordType        string       `json:"record_type"`
	PhoneNumber       string       `json:"phone_number"`
	VanityFormat      string       `json:"vanity_format"`
	BestEffort        bool         `json:"best_effort"`
	Quickship         bool         `json:"quickship"`
	Reservable        bool         `json:"reservable"`
	RegionInformation []regionInfo `json:"region_information"`
	CostInformation   costInfo     `json:"cost_information"`
	Features          []feature    `json:"features"`
}

type regionInfo struct {
	RegionType string `json:"region_type"`
	RegionName string `json:"region_name"`
}

type costInfo struct {
	UpfrontCost decimal `json:"upfront_cost"`
	MonthlyCost decimal `json:"monthly_cost"`
	Currency    string  `json:"currency"`
}

// decimal keeps a price exactly as Telnyx wrote it. Telnyx sends strings
// ("1.00"); a number is accepted too, and kept in its JSON spelling rather
// than going through float64.
type decimal string

func (d *decimal) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*d = decimal(s)
	return nil
}

// feature is one capability of a number. Telnyx sends {"name": "sms"}; a bare
// string is accepted too.
type feature struct {
	Name string `json:"name"`
}

func (f *feature) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &f.Name)
	}
	var obj struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	f.Name = obj.Name
	return nil
}

// orderRequest is the body of POST /number_orders.
type orderRequest struct {
	PhoneNumbers      []orderRequestNumber `json:"phone_numbers"`
	ConnectionID      string               `json:"connection_id,omitempty"`
	CustomerReference string               `json:"customer_reference,omitempty"`
}

type orderRequestNumber struct {
	PhoneNumber        string `json:"phone_number"`
	RequirementGroupID string `json:"requirement_group_id,omitempty"`
}

type orderEnvelope struct {
	Data numberOrder `json:"data"`
}

type orderList struct {
	Data []numberOrder `json:"data"`
	Meta pageMeta      `json:"meta"`
}

type numberOrder struct {
	ID                 flexString         `json:"id"`
	RecordType         string             `json:"record_type"`
	Status             string             `json:"status"`
	PhoneNumbersCount  int                `json:"phone_numbers_count"`
	ConnectionID       flexString         `json:"connection_id"`
	CustomerReference  flexString         `json:"customer_reference"`
	RequirementsMet    bool               `json:"requirements_met"`
	SubNumberOrdersIDs []flexString       `json:"sub_number_orders_ids"`
	CreatedAt          flexTime           `json:"created_at"`
	UpdatedAt          flexTime           `json:"updated_at"`
	PhoneNumbers       []orderPhoneNumber `json:"phone_numbers"`
}

// orderPhoneNumber is one number of an order. In an order list Telnyx
// sends only id and phone_number, so every other field may be absent.
type orderPhoneNumber struct {
	ID                     flexString    `json:"id"`
	PhoneNumber            string        `json:"phone_number"`
	Status                 string        `json:"status"`
	RequirementsMet        bool          `json:"requirements_met"`
	RequirementsStatus     string        `json:"requirements_status"`
	RegulatoryRequirements []requirement `json:"regulatory_requirements"`
	Deadline               *flexTime     `json:"deadline"`
}

// requirement is one entry of regulatory_requirements. Telnyx documents
// objects; older payloads and samples carry bare strings (taken as the
// requirement's id), and an entry of any other shape is kept empty rather
// than making the whole order unreadable.
type requirement struct {
	RequirementID string
	FieldType     string
	FieldValue    string
}

func (r *requirement) UnmarshalJSON(b []byte) error {
	*r = requirement{}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &r.RequirementID)
	}
	var obj struct {
		RequirementID flexString      `json:"requirement_id"`
		FieldType     flexString      `json:"field_type"`
		FieldValue    json.RawMessage `json:"field_value"`
	}
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &obj) != nil {
		return nil
	}
	r.RequirementID, r.FieldType = string(obj.RequirementID), string(obj.FieldType)
	// field_value is a string in the documents; anything else (an
	// address object, a number) is kept as its JSON text so that
	// "supplied" still reads as non-empty.
	var v flexString
	if err := v.UnmarshalJSON(obj.FieldValue); err == nil {
		r.FieldValue = string(v)
	} else if fv := bytes.TrimSpace(obj.FieldValue); len(fv) > 0 && !bytes.Equal(fv, []byte("null")) {
		r.FieldValue = string(fv)
	}
	return nil
}

type phoneNumberList struct {
	Data []phoneNumber `json:"data"`
	Meta pageMeta      `json:"meta"`
}

type phoneNumber struct {
	ID                  flexString `json:"id"`
	RecordType          string     `json:"record_type"`
	PhoneNumber         string     `json:"phone_number"`
	Status              string     `json:"status"`
	CountryISOAlpha2    string     `json:"country_iso_alpha2"`
	PhoneNumberType     string     `json:"phone_number_type"`
	ConnectionID        flexString `json:"connection_id"`
	MessagingProfileID  flexString `json:"messaging_profile_id"`
	BillingGroupID      flexString `json:"billing_group_id"`
	CustomerReference   flexString `json:"customer_reference"`
	DeletionLockEnabled bool       `json:"deletion_lock_enabled"`
	PurchasedAt         flexTime   `json:"purchased_at"`
	CreatedAt           flexTime   `json:"created_at"`
}

type pageMeta struct {
	TotalPages   int `json:"total_pages"`
	TotalResults int `json:"total_results"`
	PageNumber   int `json:"page_number"`
	PageSize     int `json:"page_size"`
}
