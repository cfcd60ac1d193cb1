// Package store keeps the referral domain in one DynamoDB table: item shapes, key builders,
// the access patterns (one exported method each) and the conversion transaction.
//
// Key design (docs/DATA-MODEL.md has the full table of access patterns):
//
//	item       PK                 SK                 GSI1PK                 GSI1SK
//	program    PROGRAM#<id>       PROGRAM            PROGRAMS               <id>
//	customer   CUSTOMER#<id>      CUSTOMER           -                      -
//	advocate   CUSTOMER#<id>      ADVOCATE#<pid>     -                      -
//	referral   CUSTOMER#<referee> REFERRAL#<pid>     REFERRALS#<advocate>   <createdAt>#<pid>#<referee>
//	code       CODE#<CODE>        CODE               -                      -
//	event      EVENT#<eventId>    EVENT              -                      -
//	reward     REWARD#<id>        REWARD             REWARDS#<customer>     <createdAt>#<id>
package store

import (
	"strings"
	"time"
)

// Item types, stored in the "type" attribute so stream consumers can filter on it.
const (
	TypeProgram  = "program"
	TypeCustomer = "customer"
	TypeAdvocate = "advocate"
	TypeReferral = "referral"
	TypeCode     = "code"
	TypeEvent    = "event"
	TypeReward   = "reward"
)

// GSI1 is the one secondary index: lists (programs, an advocate's referrals, a customer's rewards).
const GSI1 = "GSI1"

const (
	programSK  = "PROGRAM"
	customerSK = "CUSTOMER"
	codeSK     = "CODE"
	eventSK    = "EVENT"
	rewardSK   = "REWARD"
	programsPK = "PROGRAMS"
)

func programPK(id string) string         { return "PROGRAM#" + id }
func customerPK(id string) string        { return "CUSTOMER#" + id }
func advocateSK(programID string) string { return "ADVOCATE#" + programID }
func referralSK(programID string) string { return "REFERRAL#" + programID }
func codePK(code string) string          { return "CODE#" + strings.ToUpper(code) }
func eventPK(eventID string) string      { return "EVENT#" + eventID }
func rewardPK(id string) string          { return "REWARD#" + id }

func referralsByAdvocatePK(advocateID string) string { return "REFERRALS#" + advocateID }
func referralsByAdvocateSK(created time.Time, programID, refereeID string) string {
	return stamp(created) + "#" + programID + "#" + refereeID
}
func rewardsByCustomerPK(customerID string) string { return "REWARDS#" + customerID }
func rewardsByCustomerSK(created time.Time, rewardID string) string {
	return stamp(created) + "#" + rewardID
}

// stamp renders t so that string order is time order.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
