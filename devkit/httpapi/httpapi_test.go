package httpapi

import (
	"net/url"
	"testing"
)

func TestAccessLogRedactsSecretBearingQueryParameters(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/unsubscribe?c=ana&t=nO46I5-eTgopz_HO", "/unsubscribe?c=REDACTED&t=REDACTED"},
		{"/programs?limit=10&cursor=abc", "/programs?limit=10&cursor=abc"},
		{"/x?api_key=rk_live_1&API_KEY=2&x-amz-signature=s&upload_token=u&tokenize=keep", "/x?api_key=REDACTED&API_KEY=REDACTED&x-amz-signature=REDACTED&upload_token=REDACTED&tokenize=keep"},
		{"/x?token=a%20b&key=k&secret=s&password=p&sig=1&access_token=2", "/x?token=REDACTED&key=REDACTED&secret=REDACTED&password=REDACTED&sig=REDACTED&access_token=REDACTED"},
		{"/a%2Fb?flag&t=", "/a%2Fb?flag&t=REDACTED"},
		{"/plain", "/plain"},
	} {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactedURI(u); got != c.want {
			t.Errorf("RedactedURI(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
