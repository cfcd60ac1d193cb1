package fulfil

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/referral"
	"github.com/stripe/stripe-go/v82"
)

// StripeVersion is the Stripe API version every request pins (Stripe-Version), so the
// requests mean the same whatever the merchant's account default is. It is the version of
// the OpenAPI description that stripe-mock (the tests' and make dev's Stripe) validates
// requests against, and stripe-mock runs with -strict-version-check to keep them in step.
// stripe-go v82 types the requests; the one parameter this version added after v82
// (promotion_codes' promotion) is sent as an extra parameter.
const StripeVersion = "2026-08-26.dahlia"

// StripeRetries is how many times a Stripe request is retried (by stripe-go, with its
// exponential backoff and jitter, honouring Stripe-Should-Retry) after a network error, a
// 409, a 429 or a 5xx, within the caller's context deadline.
const StripeRetries = 2

// Stripe makes the Stripe calls of fulfilment: balance credits and their reversals, and the
// friend's promotion codes. Every call carries an Idempotency-Key derived from our reward id,
// so a repeated call (a retry, a worker that took over a lapsed claim) does the work once.
type Stripe struct {
	client  *stripe.Client
	coupons sync.Map // coupon ids known to exist
}

// NewStripe returns a Stripe client for key, on url ("" = Stripe's API; make dev and the
// tests give stripe-mock's).
func NewStripe(key, url string) *Stripe {
	cfg := &stripe.BackendConfig{
		MaxNetworkRetries: stripe.Int64(StripeRetries),
		HTTPClient:        &http.Client{Timeout: 8 * time.Second},
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull}, // failures are logged as reasons, without customer data
	}
	if url != "" {
		cfg.URL = stripe.String(strings.TrimRight(url, "/"))
	}
	return &Stripe{client: stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))}
}

// params are the common parameters of a call: the pinned version, the idempotency key, the
// caller's context (its deadline bounds stripe-go's retries).
func params(ctx context.Context, idempotencyKey string) stripe.Params {
	p := stripe.Params{Context: ctx, IdempotencyKey: stripe.String(idempotencyKey),
		Headers: http.Header{"Stripe-Version": []string{StripeVersion}}}
	return p
}

// Credit adds amount (minor units) to a Stripe customer's credit balance: a customer balance
// transaction of -amount, which Stripe applies to their next invoices. It returns the
// transaction's id.
func (s *Stripe) Credit(ctx context.Context, customer string, m referral.Money, description, idempotencyKey string, metadata map[string]string) (string, error) {
	return s.balance(ctx, customer, -m.Amount, m.Currency, description, idempotencyKey, metadata)
}

// Debit takes amount back from a Stripe customer's credit balance (the opposite of Credit).
func (s *Stripe) Debit(ctx context.Context, customer string, m referral.Money, description, idempotencyKey string, metadata map[string]string) (string, error) {
	return s.balance(ctx, customer, m.Amount, m.Currency, description, idempotencyKey, metadata)
}

func (s *Stripe) balance(ctx context.Context, customer string, amount int64, currency, description, idempotencyKey string, metadata map[string]string) (string, error) {
	p := &stripe.CustomerBalanceTransactionCreateParams{Params: params(ctx, idempotencyKey), Customer: stripe.String(customer),
		Amount: stripe.Int64(amount), Currency: stripe.String(strings.ToLower(currency)), Description: stripe.String(description),
		Metadata: metadata}
	tx, err := s.client.V1CustomerBalanceTransactions.Create(ctx, p)
	if err != nil {
		return "", err
	}
	return tx.ID, nil
}

// PromotionCode makes the friend's promotion code for offer: a coupon per offer of the
// program (made once, with an id derived from the offer's terms) and a promotion code on it
// for this friend, redeemable once, restricted to their Stripe customer when known, until
// expiresAt. idempotencyKey is the friend's reward id. It returns the promotion code's id
// and the code the friend types.
func (s *Stripe) PromotionCode(ctx context.Context, programID, programName string, offer referral.FriendOffer, customer string,
	expiresAt *time.Time, idempotencyKey string, metadata map[string]string) (id, code string, err error) {
	coupon, err := s.coupon(ctx, programID, programName, offer, idempotencyKey)
	if err != nil {
		return "", "", err
	}
	p := &stripe.PromotionCodeCreateParams{Params: params(ctx, idempotencyKey), MaxRedemptions: stripe.Int64(1), Metadata: metadata}
	p.AddExtra("promotion[type]", "coupon")
	p.AddExtra("promotion[coupon]", coupon)
	if customer != "" {
		p.Customer = stripe.String(customer)
	}
	if expiresAt != nil {
		p.ExpiresAt = stripe.Int64(expiresAt.Unix())
	}
	if offer.MinAmount > 0 || offer.FirstTime {
		p.Restrictions = &stripe.PromotionCodeCreateRestrictionsParams{}
		if offer.MinAmount > 0 {
			p.Restrictions.MinimumAmount = stripe.Int64(offer.MinAmount)
			p.Restrictions.MinimumAmountCurrency = stripe.String(strings.ToLower(offer.Currency))
		}
		if offer.FirstTime {
			p.Restrictions.FirstTimeTransaction = stripe.Bool(true)
		}
	}
	pc, err := s.client.V1PromotionCodes.Create(ctx, p)
	if err != nil {
		return "", "", err
	}
	return pc.ID, pc.Code, nil
}

// coupon makes sure the coupon of an offer exists and returns its id. The id is derived from
// the offer's terms, so a program whose offer changes gets a new coupon and the codes already
// given keep theirs.
func (s *Stripe) coupon(ctx context.Context, programID, programName string, offer referral.FriendOffer, idempotencyKey string) (string, error) {
	terms := fmt.Sprintf("%s|%d|%d|%s", programID, offer.AmountOff, offer.PercentOff, offer.Currency)
	sum := sha256.Sum256([]byte(terms))
	id := "referral-" + hex.EncodeToString(sum[:8])
	if _, ok := s.coupons.Load(id); ok {
		return id, nil
	}
	name := []rune(programName)
	if len(name) > 40 { // Stripe's limit on a coupon's name
		name = append(name[:39], '…')
	}
	p := &stripe.CouponCreateParams{Params: params(ctx, idempotencyKey+"-coupon"), ID: stripe.String(id),
		Name: stripe.String(string(name)), Duration: stripe.String(string(stripe.CouponDurationOnce)),
		Metadata: map[string]string{"program_id": programID}}
	if offer.PercentOff > 0 {
		p.PercentOff = stripe.Float64(float64(offer.PercentOff))
	} else {
		p.AmountOff = stripe.Int64(offer.AmountOff)
		p.Currency = stripe.String(strings.ToLower(offer.Currency))
	}
	_, err := s.client.V1Coupons.Create(ctx, p)
	var se *stripe.Error
	if err != nil && !(errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceAlreadyExists) {
		return "", err
	}
	s.coupons.Store(id, true)
	return id, nil
}

// Reason is the fulfilment reason for a failed provider call: stripe_unavailable when Stripe
// could not be reached or answered 5xx/429 through the retries, stripe_rejected:<code> when
// it refused the request.
func Reason(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) {
		if se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == http.StatusConflict {
			return referral.ReasonStripeUnavailable
		}
		code := string(se.Code)
		if code == "" {
			code = string(se.Type)
		}
		if code == "" {
			code = strconv.Itoa(se.HTTPStatusCode)
		}
		return referral.ReasonStripeRejected + ":" + code
	}
	return referral.ReasonStripeUnavailable
}

// SecretsManager is the part of the Secrets Manager client the key loader uses.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// URLVar names the environment variable of Stripe's endpoint, as AWS_ENDPOINT_URL_* are the
// AWS SDK's: unset, Stripe's API. make dev and make invoke set it to stripe-mock's URL; the
// template never does. The key always comes from the StripeSecretKey secret (STRIPE_SECRET_ARN),
// which make dev's Secrets Manager stand-in fills with a stripe-mock test key.
const URLVar = "STRIPE_API_URL"

// keyRefresh is how long a container trusts the key it read: a key put into the secret
// (the first one, or a rolled one) is used within this time.
const keyRefresh = 5 * time.Minute

// StripeAccount finds the Stripe client of a container: the key from the StripeSecretKey
// secret, re-read every keyRefresh. Until the secret holds a Stripe secret
// or restricted key (sk_…, rk_…) Stripe is not configured and its rewards fail with
// stripe_not_configured.
type StripeAccount struct {
	Secrets  SecretsManager
	SecretID string

	mu      sync.Mutex
	fixed   bool
	key     string
	read    time.Time
	client  *Stripe
	baseURL string
}

// NewStripeAccount is the Stripe account of a container whose secret is secretID.
func NewStripeAccount(sm SecretsManager, secretID string) *StripeAccount {
	return &StripeAccount{Secrets: sm, SecretID: secretID, baseURL: os.Getenv(URLVar)}
}

// FixedStripeAccount is an account with a given key at url (stripe-mock's, in tests and
// make dev), never read from Secrets Manager.
func FixedStripeAccount(key, url string) *StripeAccount {
	return &StripeAccount{key: key, read: time.Now(), client: NewStripe(key, url), fixed: true}
}

// ErrStripeNotConfigured means there is no Stripe key to call Stripe with.
var ErrStripeNotConfigured = errors.New(referral.ReasonStripeNotConfigured)

// Client returns the Stripe client for the current key, or ErrStripeNotConfigured.
func (a *StripeAccount) Client(ctx context.Context) (*Stripe, error) {
	if a == nil {
		return nil, ErrStripeNotConfigured
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fixed || (!a.read.IsZero() && time.Since(a.read) < keyRefresh) {
		if a.client == nil {
			return nil, ErrStripeNotConfigured
		}
		return a.client, nil
	}
	var key string
	if a.SecretID != "" && a.Secrets != nil {
		out, err := a.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(a.SecretID)})
		if err != nil {
			if a.client != nil { // keep the key we have through a Secrets Manager hiccup
				return a.client, nil
			}
			return nil, fmt.Errorf("stripe key: %w", err)
		}
		key = strings.TrimSpace(aws.ToString(out.SecretString))
	}
	a.read = time.Now()
	if !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_") {
		a.client, a.key = nil, ""
		return nil, ErrStripeNotConfigured
	}
	if key != a.key || a.client == nil {
		a.client, a.key = NewStripe(key, a.baseURL), key
	}
	return a.client, nil
}
