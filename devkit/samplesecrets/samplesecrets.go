// Package samplesecrets holds the public sample secrets that sign the sample events of events/
// and the tests' data: unsubscribe links, sealed webhook secrets and advocate page links. They are public, so no
// deployed stack uses them: the local stack's Secrets Manager stand-in serves them for the
// template's secrets (make dev, make invoke, and sam local invoke pointed at make dev's
// secrets endpoint), so the functions read them as a stack does, from Secrets Manager by ARN.
package samplesecrets

// The sample values.
const (
	Unsubscribe    = "sample-unsubscribe-secret-for-tests-and-sam-local-only"
	WebhookSealKey = "sample-webhook-secret-key-for-tests-and-sam-local-only"
	AdvocatePage   = "sample-advocate-page-secret-for-tests-and-sam-local-only"
)

// ByLogicalID are the sample values by the logical ID of the template's secret that holds
// them in a stack.
var ByLogicalID = map[string]string{
	"UnsubscribeSecret":  Unsubscribe,
	"WebhookSecretKey":   WebhookSealKey,
	"AdvocatePageSecret": AdvocatePage,
}
