package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/shared/referral"
)

type referralItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK"`
	GSI1SK string `json:"GSI1SK"`
	Type   string `json:"type"`
	referral.Referral
	Reached []string `json:"reached,omitempty"` // milestones reached, each rewarded at most once
	Version int64    `json:"version"`
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
	return s.Attribute(ctx, rc, in)
}

// Attribute attributes a referee to a code already read: 1 consistent BatchGetItem (advocate,
// referee, existing referral) and 1 TransactWriteItems that puts the referral only if the
// referee has none in the program, counts the code's use within maxUses, and upserts the
// referee. A referee already attributed gets ErrAlreadyReferred carrying the existing referral.
func (s *Store) Attribute(ctx context.Context, rc ReferralCode, in NewReferral) (referral.Referral, error) {
	now := s.now()
	code, p := rc.item, rc.Program
	if rec := code.record(&p, now); rec.Status != referral.CodeActive {
		return referral.Referral{}, referral.ErrCodeInactive.With(fmt.Sprintf("the code is %s", rec.Status), nil)
	}
	if in.Referee.ID == code.CustomerID {
		return referral.Referral{}, referral.ErrSelfReferral
	}
	got, err := s.batchGet(ctx,
		key(customerPK(code.CustomerID), customerSK),
		key(customerPK(in.Referee.ID), customerSK),
		key(customerPK(in.Referee.ID), referralSK(p.ProgramID)))
	if err != nil {
		return referral.Referral{}, fmt.Errorf("create referral: %w", err)
	}
	if raw, ok := got[customerPK(in.Referee.ID)+"|"+referralSK(p.ProgramID)]; ok {
		var existing referralItem
		if err := unmarshal(raw, &existing); err != nil {
			return referral.Referral{}, err
		}
		return referral.Referral{}, referral.ErrAlreadyReferred.With("", existing.Referral)
	}
	refereeEmail := in.Referee.Email
	var referee referral.Customer
	if raw, ok := got[customerPK(in.Referee.ID)+"|"+customerSK]; ok {
		if referee, err = decodeCustomer(raw); err != nil {
			return referral.Referral{}, err
		}
		if refereeEmail == "" {
			refereeEmail = referee.Email
		}
		if p.NewCustomersOnly && referee.PurchaseCount > 0 {
			return referral.Referral{}, referral.ErrNotNewCustomer
		}
	}
	if raw, ok := got[customerPK(code.CustomerID)+"|"+customerSK]; ok && refereeEmail != "" {
		adv, err := decodeCustomer(raw)
		if err != nil {
			return referral.Referral{}, err
		}
		if adv.Email != "" && referral.NormalizeEmail(adv.Email) == referral.NormalizeEmail(refereeEmail) {
			return referral.Referral{}, referral.ErrSelfReferral
		}
	}

	r := referral.Referral{ReferralID: referral.NewID(now), ProgramID: p.ProgramID, Code: code.Code,
		AdvocateID: code.CustomerID, RefereeID: in.Referee.ID, Channel: in.Channel, CreatedAt: now}
	if p.AttributionWindowDays > 0 {
		t := now.AddDate(0, 0, p.AttributionWindowDays)
		r.AttributionExpiresAt = &t
	}
	item := referralItem{PK: customerPK(r.RefereeID), SK: referralSK(p.ProgramID),
		GSI1PK: referralsByAdvocatePK(r.AdvocateID), GSI1SK: referralsByAdvocateSK(now, p.ProgramID, r.RefereeID),
		Type: TypeReferral, Referral: r}

	useCond := expression.AttributeExists(expression.Name("PK")).And(expression.Name("paused").Equal(expression.Value(false)))
	if code.MaxUses > 0 {
		useCond = useCond.And(expression.Name("uses").LessThan(expression.Value(code.MaxUses)))
	}
	useCode := update(codePK(code.Code), codeSK, expression.Add(expression.Name("uses"), expression.Value(1)), &useCond)

	refUpd := expression.Set(expression.Name("type"), expression.Value(TypeCustomer)).
		Set(expression.Name("customerId"), expression.Value(in.Referee.ID)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Set(expression.Name("createdAt"), expression.IfNotExists(expression.Name("createdAt"), expression.Value(stamp(now)))).
		Set(expression.Name("segment"), expression.IfNotExists(expression.Name("segment"), expression.Value(referral.SegmentCurrent))).
		Set(expression.Name("purchaseCount"), expression.IfNotExists(expression.Name("purchaseCount"), expression.Value(0))).
		Set(expression.Name("marketingOptOut"), expression.IfNotExists(expression.Name("marketingOptOut"), expression.Value(false)))
	for name, v := range map[string]string{"email": in.Referee.Email, "name": in.Referee.Name} {
		if v != "" {
			refUpd = refUpd.Set(expression.Name(name), expression.Value(v))
		}
	}
	if in.Referee.Locale != "" {
		refUpd = refUpd.Set(expression.Name("locale"), expression.Value(in.Referee.Locale))
	} else {
		refUpd = refUpd.Set(expression.Name("locale"), expression.IfNotExists(expression.Name("locale"), expression.Value("en")))
	}
	upsertReferee := update(customerPK(in.Referee.ID), customerSK, refUpd, nil)

	err = s.transact(ctx, putNew(item), useCode, upsertReferee)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return r, nil
	case reasons != nil && reasons[0] == "ConditionalCheckFailed":
		existing, gerr := s.GetReferral(ctx, in.Referee.ID, p.ProgramID)
		if gerr != nil {
			return referral.Referral{}, gerr
		}
		return referral.Referral{}, referral.ErrAlreadyReferred.With("", existing)
	case reasons != nil && reasons[1] == "ConditionalCheckFailed":
		return referral.Referral{}, referral.ErrCodeInactive.With("the code reached its maximum number of uses", nil)
	default:
		return referral.Referral{}, unavailable(fmt.Errorf("create referral: %w", err))
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

// RefereePrograms lists the programs a referee is attributed in (1 consistent Query), for
// conversions that do not name their program.
func (s *Store) RefereePrograms(ctx context.Context, refereeID string) ([]string, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("PK").Equal(expression.Value(customerPK(refereeID))).
			And(expression.Key("SK").BeginsWith(referralSK("")))).
		WithProjection(expression.NamesList(expression.Name("programId"))).Build()
	if err != nil {
		return nil, err
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(10)})
	if err != nil {
		return nil, unavailable(fmt.Errorf("referee programs: %w", err))
	}
	var rows []struct {
		ProgramID string `json:"programId"`
	}
	if err := unmarshalList(res.Items, &rows); err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ProgramID
	}
	return out, nil
}

// ListReferrals pages through an advocate's referrals, oldest first (1 Query on GSI1).
func (s *Store) ListReferrals(ctx context.Context, advocateID string, page Page) ([]referral.Referral, *string, error) {
	var items []referralItem
	next, err := s.queryGSI1(ctx, referralsByAdvocatePK(advocateID), page, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("list referrals of %s: %w", advocateID, err)
	}
	out := make([]referral.Referral, len(items))
	for i := range items {
		out[i] = items[i].Referral
	}
	return out, next, nil
}
