package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

type referralItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK"`
	GSI1SK string `json:"GSI1SK"`
	GSI3PK string `json:"GSI3PK,omitempty"`
	GSI3SK string `json:"GSI3SK,omitempty"`
	Type   string `json:"type"`
	referral.Referral
	Reached []string `json:"reached,omitempty"` // milestones reached, each rewarded at most once
	Blocked bool     `json:"blocked,omitempty"` // the referee is on the blocklist
	Version int64    `json:"version"`
}

// refereeEmailItem reserves a normalized referee email in a program for the first referee who
// used it, so the same mailbox cannot be referred again under another customer id. It holds
// that referral (for the 409's details) and only the SHA-256 of the address.
type refereeEmailItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	referral.Referral
}

// Referee is the person being referred, as given by the merchant.
type Referee struct {
	ID     string
	Email  string
	Name   string
	Locale string
}

// NewReferral is an attribution request.
type NewReferral struct {
	Code    string
	Referee Referee
	Channel string
	// Checkout marks an attribution made by a conversion (code + referee): a referee already
	// attributed to the same advocate proceeds with that referral.
	Checkout bool
}

// ReferralCode is a code read for an attribution, with its program.
type ReferralCode struct {
	Program referral.Program
	item    codeItem
}

// ReadReferralCode reads a code (1 consistent GetItem) and its program (through programs).
// An unknown code is ErrCodeNotFound.
func (s *Store) ReadReferralCode(ctx context.Context, code string, programs *ProgramCache) (ReferralCode, error) {
	it, found, err := s.GetCode(ctx, code, true)
	if err != nil {
		return ReferralCode{}, err
	}
	if !found {
		return ReferralCode{}, referral.ErrCodeNotFound
	}
	p, err := programs.Get(ctx, it.ProgramID)
	if err != nil {
		return ReferralCode{}, fmt.Errorf("program of code %s: %w", it.Code, err)
	}
	return ReferralCode{Program: p, item: it}, nil
}

// CreateReferral attributes a referee to a code: ReadReferralCode, then Attribute.
func (s *Store) CreateReferral(ctx context.Context, in NewReferral, programs *ProgramCache) (referral.Referral, error) {
	rc, err := s.ReadReferralCode(ctx, in.Code, programs)
	if err != nil {
		return referral.Referral{}, err
	}
	r, _, err := s.Attribute(ctx, rc, in)
	return r, err
}

// Attribute attributes a referee to a code already read: 1 consistent BatchGetItem (advocate,
// referee, the referee's referral in the program, the referee email's reservation), the
// decision of referral.Attribute, and 1 TransactWriteItems that puts the referral only if the
// referee has none in the program, counts the code's use within maxUses while the code and its
// advocate are not paused or blocked, reserves the referee's normalized email in the program,
// and fills the referee's empty customer fields (never overwriting stored ones) unless the
// referee is blocked. reused is true at checkout when the referee was attributed to the same
// advocate before: that referral comes back and nothing is written.
func (s *Store) Attribute(ctx context.Context, rc ReferralCode, in NewReferral) (r referral.Referral, reused bool, err error) {
	for attempt := 1; ; attempt++ {
		r, reused, retry, err := s.tryAttribute(ctx, rc, in)
		if !retry || attempt == 3 {
			if retry {
				err = referral.ErrUnavailable.With("the referee changed while being referred; retry shortly", nil)
			}
			return r, reused, err
		}
	}
}

func (s *Store) tryAttribute(ctx context.Context, rc ReferralCode, in NewReferral) (r referral.Referral, reused, retry bool, err error) {
	now := s.now()
	code, p := rc.item, rc.Program
	emailSource := in.Referee.Email
	advKey, refKey, existingKey := key(customerPK(code.CustomerID), customerSK), key(customerPK(in.Referee.ID), customerSK),
		key(customerPK(in.Referee.ID), referralSK(p.ProgramID))
	keys := []map[string]types.AttributeValue{advKey, refKey, existingKey}
	if emailSource != "" {
		keys = append(keys, key(refereeEmailPK(p.ProgramID, referral.NormalizeEmail(emailSource)), refereeEmailSK))
	}
	got, err := s.batchGet(ctx, keys...)
	if err != nil {
		return r, false, false, fmt.Errorf("create referral: %w", err)
	}
	dec := referral.Attribution{Program: &p, Code: code.code(), CodePaused: code.Paused, Channel: in.Channel,
		Checkout: in.Checkout, Now: now}
	if raw, ok := got[itemKey(advKey)]; ok {
		c, err := decodeCustomer(raw)
		if err != nil {
			return r, false, false, err
		}
		dec.Advocate = &c
	}
	if code.Blocked {
		dec.Advocate = &referral.Customer{CustomerID: code.CustomerID, Blocked: true}
	}
	if raw, ok := got[itemKey(refKey)]; ok {
		c, err := decodeCustomer(raw)
		if err != nil {
			return r, false, false, err
		}
		dec.RefereeStored = &c
	}
	given := referral.Customer{CustomerID: in.Referee.ID, Email: in.Referee.Email, Name: in.Referee.Name, Locale: in.Referee.Locale}
	dec.Referee = referral.MergeReferee(dec.RefereeStored, given)
	if raw, ok := got[itemKey(existingKey)]; ok {
		var existing referralItem
		if err := unmarshal(raw, &existing); err != nil {
			return r, false, false, err
		}
		dec.Existing = &existing.Referral
	}
	email := referral.NormalizeEmail(dec.Referee.Email)
	var emailKey map[string]types.AttributeValue
	if email != "" {
		emailKey = key(refereeEmailPK(p.ProgramID, email), refereeEmailSK)
		if raw, ok := got[itemKey(emailKey)]; ok {
			var owner refereeEmailItem
			if err := unmarshal(raw, &owner); err != nil {
				return r, false, false, err
			}
			dec.EmailOwner = &owner.Referral
		} else if email != referral.NormalizeEmail(emailSource) {
			// The address comes from the stored customer, not the request: read its reservation.
			var owner refereeEmailItem
			found, err := s.getItem(ctx, refereeEmailPK(p.ProgramID, email), refereeEmailSK, &owner)
			if err != nil {
				return r, false, false, err
			}
			if found {
				dec.EmailOwner = &owner.Referral
			}
		}
	}
	r, reused, err = referral.Attribute(dec)
	if err != nil || reused {
		return r, reused, false, err
	}
	r.ReferralID = referral.NewID(now)
	r.FriendCoupon = p.NewFriendCoupon(r, now)
	item := referralItem{PK: customerPK(r.RefereeID), SK: referralSK(p.ProgramID),
		GSI1PK: referralsByAdvocatePK(r.AdvocateID), GSI1SK: referralsByAdvocateSK(now, p.ProgramID, r.RefereeID),
		GSI3PK: programReferralsPK(p.ProgramID), GSI3SK: programReferralsSK(now, r.RefereeID),
		Type: TypeReferral, Referral: r}

	notBlocked := expression.Or(expression.AttributeNotExists(expression.Name("blocked")), expression.Name("blocked").Equal(expression.Value(false)))
	useCond := expression.AttributeExists(expression.Name("PK")).And(expression.Name("paused").Equal(expression.Value(false)), notBlocked)
	if code.MaxUses > 0 {
		useCond = useCond.And(expression.Name("uses").LessThan(expression.Value(code.MaxUses)))
	}
	// The code's first referral also ends its advocate's reminders to share it.
	useCode := update(codePK(code.Code), codeSK, expression.Add(expression.Name("uses"), expression.Value(1)).
		Set(expression.Name("GSI3SK"), expression.Value(remindersDoneSK(code.Code))), &useCond)

	refUpd := expression.Set(expression.Name("type"), expression.Value(TypeCustomer)).
		Set(expression.Name("customerId"), expression.Value(in.Referee.ID)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Set(expression.Name("createdAt"), expression.IfNotExists(expression.Name("createdAt"), expression.Value(stamp(now)))).
		Set(expression.Name("segment"), expression.IfNotExists(expression.Name("segment"), expression.Value(referral.SegmentCurrent))).
		Set(expression.Name("purchaseCount"), expression.IfNotExists(expression.Name("purchaseCount"), expression.Value(0))).
		Set(expression.Name("marketingOptOut"), expression.IfNotExists(expression.Name("marketingOptOut"), expression.Value(false)))
	refCond := notBlocked
	fill := referral.FillCustomer(dec.RefereeStored, given)
	for _, name := range []string{"email", "name", "locale"} {
		v, ok := fill[name]
		if !ok {
			continue
		}
		refUpd = refUpd.Set(expression.Name(name), expression.Value(v))
		// Filled only while still empty: a concurrent write of the field wins over ours.
		refCond = refCond.And(expression.Or(expression.AttributeNotExists(expression.Name(name)), expression.Name(name).Equal(expression.Value(""))))
	}
	if _, ok := fill["locale"]; !ok {
		refUpd = refUpd.Set(expression.Name("locale"), expression.IfNotExists(expression.Name("locale"), expression.Value("en")))
	}
	items := []types.TransactWriteItem{putNew(item), useCode, update(customerPK(in.Referee.ID), customerSK, refUpd, &refCond)}
	if emailKey != nil {
		items = append(items, putNew(refereeEmailItem{PK: refereeEmailPK(p.ProgramID, email), SK: refereeEmailSK,
			Type: TypeRefereeEmail, Referral: r}))
	}

	err = s.transact(ctx, items...)
	reasons := cancellationReasons(err)
	failed := func(i int) bool { return i < len(reasons) && reasons[i] == "ConditionalCheckFailed" }
	switch {
	case err == nil:
		return r, false, false, nil
	case failed(0), failed(3):
		// Another request attributed this referee, or another referee with this email, first:
		// decide again on what is stored now.
		return r, false, true, nil
	case failed(1):
		return r, false, false, referral.ErrCodeInactive.With("the code reached its maximum number of uses, or it or its advocate was paused or blocked", nil)
	case failed(2):
		return r, false, true, nil
	case reasons != nil:
		return r, false, true, nil
	default:
		return r, false, false, unavailable(fmt.Errorf("create referral: %w", err))
	}
}

// GetReferral reads the referee's referral in a program (1 consistent GetItem).
func (s *Store) GetReferral(ctx context.Context, refereeID, programID string) (referral.Referral, error) {
	var it referralItem
	found, err := s.getItem(ctx, customerPK(refereeID), referralSK(programID), &it)
	if err != nil {
		return referral.Referral{}, err
	}
	if !found {
		return referral.Referral{}, referral.ErrNotReferred
	}
	return it.Referral, nil
}

// RefereeReferrals lists a customer's referrals as a referee, one per program they were
// referred in (access pattern "who referred a customer": 1 consistent Query on the customer's
// partition, SK begins with REFERRAL#).
func (s *Store) RefereeReferrals(ctx context.Context, refereeID string) ([]referral.Referral, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("PK").Equal(expression.Value(customerPK(refereeID))).
			And(expression.Key("SK").BeginsWith(referralSK("")))).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	out := []referral.Referral{}
	err = s.queryPages(ctx, in, func(page []map[string]types.AttributeValue) error {
		var items []referralItem
		if err := unmarshalList(page, &items); err != nil {
			return err
		}
		out = append(out, referralsOf(items)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("referrals of referee %s: %w", refereeID, err)
	}
	return out, nil
}

// referralsOf is the referrals of referral items.
func referralsOf(items []referralItem) []referral.Referral {
	out := make([]referral.Referral, len(items))
	for i := range items {
		out[i] = items[i].Referral
	}
	return out
}

// RefereePrograms lists the programs a referee is attributed in (RefereeReferrals), for
// conversions that do not name their program.
func (s *Store) RefereePrograms(ctx context.Context, refereeID string) ([]string, error) {
	refs, err := s.RefereeReferrals(ctx, refereeID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ProgramID
	}
	return out, nil
}

// ListReferrals pages through an advocate's referrals, oldest first (access pattern "an
// advocate's referrals": 1 Query on GSI5, REFERRALS#<advocateId>, for the page's keys, then 1
// eventually consistent BatchGetItem per 100 of them for the referrals as stored). GSI5 holds
// keys only, so a conversion, which changes a referral's stage, reached milestones, version,
// unpaid conversions and friend coupon, does not rewrite the referral's index entry. A
// referral erased between the two reads is left out.
func (s *Store) ListReferrals(ctx context.Context, advocateID string, page Page) ([]referral.Referral, *string, error) {
	var items []referralItem
	next, err := s.queryThrough(ctx, GSI5, referralsByAdvocatePK(advocateID), page, true, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("list referrals of %s: %w", advocateID, err)
	}
	return referralsOf(items), next, nil
}

// SetFriendCoupon records the outcome of making a referred friend's promotion code on their
// referral (1 UpdateItem, conditional on the referral still holding that coupon's reward id).
// It writes the coupon's outcome fields only, so the conversion that takes the coupon's reward
// id meanwhile keeps its mark.
func (s *Store) SetFriendCoupon(ctx context.Context, ref referral.Referral, fc referral.FriendCoupon) error {
	upd := expression.Set(expression.Name("friendCoupon.status"), expression.Value(fc.Status))
	for name, v := range map[string]string{"code": fc.Code, "promotionCodeId": fc.PromotionCodeID, "reason": fc.Reason} {
		upd = upd.Set(expression.Name("friendCoupon."+name), expression.Value(v)) // "" reads back as absent
	}
	cond := expression.Name("friendCoupon.rewardId").Equal(expression.Value(fc.RewardID))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("friend coupon: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table),
		Key: key(customerPK(ref.RefereeID), referralSK(ref.ProgramID)), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	if conditionFailed(err) {
		return fmt.Errorf("friend coupon of %s in %s: the referral no longer holds it", ref.RefereeID, ref.ProgramID)
	}
	if err != nil {
		return unavailable(fmt.Errorf("friend coupon of %s in %s: %w", ref.RefereeID, ref.ProgramID, err))
	}
	return nil
}

// ProgramReferrals pages through a program's referrals, newest first (access pattern "a
// program's referrals": 1 Query on GSI4, PROGRAMREFERRALS#<programId>, for the page's keys,
// then 1 eventually consistent BatchGetItem per 100 of them for the referrals as stored). GSI4
// holds keys only, so a conversion does not rewrite the referral's index entry. A referral
// erased between the two reads is left out.
func (s *Store) ProgramReferrals(ctx context.Context, programID string, page Page) ([]referral.Referral, *string, error) {
	var items []referralItem
	next, err := s.queryThrough(ctx, GSI4, programReferralsPK(programID), page, false, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("referrals of program %s: %w", programID, err)
	}
	return referralsOf(items), next, nil
}
