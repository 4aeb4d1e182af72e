package telnyxsim

import "time"

// JSON shapes of Telnyx's answers. They are the simulator's own, not shared
// with the client package: a shared type would let one misreading of the
// wire format hide on both sides of the tests.

type availableNumberJSON struct {
	RecordType        string           `json:"record_type"`
	PhoneNumber       string           `json:"phone_number"`
	VanityFormat      string           `json:"vanity_format"`
	BestEffort        bool             `json:"best_effort"`
	Quickship         bool             `json:"quickship"`
	Reservable        bool             `json:"reservable"`
	RegionInformation []regionInfoJSON `json:"region_information"`
	CostInformation   costJSON         `json:"cost_information"`
	Features          []featureJSON    `json:"features"`
}

type regionInfoJSON struct {
	RegionType string `json:"region_type"`
	RegionName string `json:"region_name"`
}

type costJSON struct {
	UpfrontCost string `json:"upfront_cost"`
	MonthlyCost string `json:"monthly_cost"`
	Currency    string `json:"currency"`
}

type featureJSON struct {
	Name string `json:"name"`
}

type searchMetaJSON struct {
	TotalResults      int `json:"total_results"`
	BestEffortResults int `json:"best_effort_results"`
}

type pageMetaJSON struct {
	TotalPages   int `json:"total_pages"`
	TotalResults int `json:"total_results"`
	PageNumber   int `json:"page_number"`
	PageSize     int `json:"page_size"`
}

type orderJSON struct {
	ID                 string   `json:"id"`
	RecordType         string   `json:"record_type"`
	Status             string   `json:"status"`
	PhoneNumbersCount  int      `json:"phone_numbers_count"`
	ConnectionID       *string  `json:"connection_id"`
	MessagingProfileID *string  `json:"messaging_profile_id"`
	BillingGroupID     *string  `json:"billing_group_id"`
	CustomerReference  *string  `json:"customer_reference"`
	RequirementsMet    bool     `json:"requirements_met"`
	SubNumberOrdersIDs []string `json:"sub_number_orders_ids"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	// PhoneNumbers is []orderPhoneNumberJSON for one order and
	// []orderListNumberJSON in a list.
	PhoneNumbers any `json:"phone_numbers"`
}

// orderListNumberJSON is a number of an order in GET /number_orders.
type orderListNumberJSON struct {
	ID          string `json:"id"`
	PhoneNumber string `json:"phone_number"`
}

// requirementJSON is one regulatory requirement of a number in an order.
type requirementJSON struct {
	RequirementID string  `json:"requirement_id"`
	FieldType     string  `json:"field_type"`
	FieldValue    *string `json:"field_value"`
	RecordType    string  `json:"record_type"`
}

type orderPhoneNumberJSON struct {
	ID                     string            `json:"id"`
	RecordType             string            `json:"record_type"`
	PhoneNumber            string            `json:"phone_number"`
	Status                 string            `json:"status"`
	RequirementsMet        bool              `json:"requirements_met"`
	RequirementsStatus     string            `json:"requirements_status"`
	RegulatoryRequirements []requirementJSON `json:"regulatory_requirements"`
	Deadline               *string           `json:"deadline"`
	CountryCode            string            `json:"country_code"`
	PhoneNumberType        string            `json:"phone_number_type"`
	SubNumberOrderID       string            `json:"sub_number_order_id"`
}

type phoneNumberJSON struct {
	ID                    string   `json:"id"`
	RecordType            string   `json:"record_type"`
	PhoneNumber           string   `json:"phone_number"`
	Status                string   `json:"status"`
	Tags                  []string `json:"tags"`
	CountryISOAlpha2      string   `json:"country_iso_alpha2"`
	ExternalPin           *string  `json:"external_pin"`
	ConnectionID          *string  `json:"connection_id"`
	ConnectionName        *string  `json:"connection_name"`
	CustomerReference     *string  `json:"customer_reference"`
	MessagingProfileID    *string  `json:"messaging_profile_id"`
	BillingGroupID        *string  `json:"billing_group_id"`
	EmergencyEnabled      bool     `json:"emergency_enabled"`
	CallForwardingEnabled bool     `json:"call_forwarding_enabled"`
	CNAMListingEnabled    bool     `json:"cnam_listing_enabled"`
	CallerIDNameEnabled   bool     `json:"caller_id_name_enabled"`
	CallRecordingEnabled  bool     `json:"call_recording_enabled"`
	T38FaxGatewayEnabled  bool     `json:"t38_fax_gateway_enabled"`
	HDVoiceEnabled        bool     `json:"hd_voice_enabled"`
	PhoneNumberType       string   `json:"phone_number_type"`
	DeletionLockEnabled   bool     `json:"deletion_lock_enabled"`
	PurchasedAt           string   `json:"purchased_at"`
	CreatedAt             string   `json:"created_at"`
	UpdatedAt             string   `json:"updated_at"`
}

// timestamp writes a time as Telnyx does: UTC, milliseconds, "Z".
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// nullable turns "" into JSON null, as Telnyx sends unset optional IDs.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
