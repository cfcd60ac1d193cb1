package advocate

import (
	"fmt"
	"strconv"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// QR is a QR code drawn as one SVG path: ViewBox is the svg element's viewBox (the code with
// its four-module quiet zone, one unit per module) and Path the path's d, a rectangle per run
// of dark modules in a row.
type QR struct {
	ViewBox string
	Path    string
}

// quietZone is the light margin a reader needs around the code, in modules.
const quietZone = 4

// NewQR encodes text (medium error correction: a phone reads it from a screen or a print).
func NewQR(text string) (QR, error) {
	code, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return QR{}, fmt.Errorf("qr code: %w", err)
	}
	var m matrix
	if err := code.Save(&m); err != nil {
		return QR{}, fmt.Errorf("qr code: %w", err)
	}
	size := len(m.bits) + 2*quietZone
	var d strings.Builder
	for y, row := range m.bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&d, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run
		}
	}
	n := strconv.Itoa(size)
	return QR{ViewBox: "0 0 " + n + " " + n, Path: d.String()}, nil
}

// matrix is a qrcode.Writer that keeps the code's modules (true = dark), row by row.
type matrix struct{ bits [][]bool }

func (m *matrix) Write(mat qrcode.Matrix) error {
	m.bits = mat.Bitmap()
	return nil
}

func (m *matrix) Close() error { return nil }

var _ qrcode.Writer = (*matrix)(nil)
