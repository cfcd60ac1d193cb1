package email

import (
	"fmt"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/render"
)

// engine runs the email templates (see package render: no text/template executor, so the
// function's binary keeps no SDK method it does not call); the functions are the emails' own.
var engine = render.New(render.Funcs{
	"link": func(a []any) (any, error) {
		if len(a) != 2 {
			return nil, fmt.Errorf("link takes a URL and a label")
		}
		return map[string]any{"URL": a[0], "Label": a[1]}, nil
	},
	"khun":   func(a []any) (any, error) { return locale.Khun(fmt.Sprint(a...)), nil },
	"pad":    func(a []any) (any, error) { return locale.Pad(fmt.Sprint(a...)), nil },
	"spaced": func(a []any) (any, error) { return locale.Spaced(fmt.Sprint(a...)), nil },
})
