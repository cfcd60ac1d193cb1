package console

import (
	"strconv"
	"strings"
)

// The dashboard's charts are SVG drawn here, from numbers: no script, no library, nothing
// fetched. Each is a figure whose caption is its title, an SVG with role="img" and a text
// alternative that says every value, and a <title> per bar (the value on hover). Colours are
// presentation attributes (the CSP refuses inline styles).

const (
	chartWidth = 400
	barColour  = "#1d4ed8"
	inkColour  = "#1f2937"
	lineColour = "#9ca3af"
)

// columns is a column chart of values by label (months left to right).
func columns(title string, labels []string, values []int64, format func(int64) string) map[string]any {
	const height, top, bottom, left = 180, 22, 30, 4
	plot := height - top - bottom
	most := maxOf(values)
	slot := (chartWidth - 2*left) / max(len(values), 1)
	barW := slot * 3 / 5
	items := make([]any, 0, len(values))
	var alt []string
	for i, v := range values {
		h := 0
		if most > 0 {
			h = int(int64(plot) * v / most)
		}
		if v > 0 && h < 2 {
			h = 2
		}
		x := left + i*slot + (slot-barW)/2
		y := top + plot - h
		items = append(items, map[string]any{
			"X": strconv.Itoa(x), "Y": strconv.Itoa(y), "W": strconv.Itoa(barW), "H": strconv.Itoa(h),
			"CX": strconv.Itoa(x + barW/2), "VY": strconv.Itoa(y - 6), "LY": strconv.Itoa(height - 10),
			"Label": labels[i], "Value": format(v),
		})
		alt = append(alt, labels[i]+": "+format(v))
	}
	return map[string]any{"Title": title, "Kind": "columns", "Items": items, "Alt": title + ". " + strings.Join(alt, "; ") + ".",
		"ViewBox": "0 0 " + strconv.Itoa(chartWidth) + " " + strconv.Itoa(height), "Fill": barColour, "Ink": inkColour, "Line": lineColour,
		"BaseY": strconv.Itoa(top + plot), "Width": strconv.Itoa(chartWidth), "Empty": len(values) == 0}
}

// bars is a horizontal bar chart of values by label (top to bottom).
func bars(title string, labels []string, values []int64, format func(int64) string) map[string]any {
	const row, labelW, valueW = 30, 130, 70
	plot := chartWidth - labelW - valueW
	most := maxOf(values)
	height := max(len(values), 1) * row
	items := make([]any, 0, len(values))
	var alt []string
	for i, v := range values {
		w := 0
		if most > 0 {
			w = int(int64(plot) * v / most)
		}
		if v > 0 && w < 2 {
			w = 2
		}
		y := i * row
		items = append(items, map[string]any{
			"X": strconv.Itoa(labelW), "Y": strconv.Itoa(y + 6), "W": strconv.Itoa(w), "H": strconv.Itoa(row - 12),
			"LX": strconv.Itoa(labelW - 8), "TY": strconv.Itoa(y + row/2 + 4), "VX": strconv.Itoa(labelW + w + 8),
			"Label": labels[i], "Value": format(v),
		})
		alt = append(alt, labels[i]+": "+format(v))
	}
	return map[string]any{"Title": title, "Kind": "bars", "Items": items, "Alt": title + ". " + strings.Join(alt, "; ") + ".",
		"ViewBox": "0 0 " + strconv.Itoa(chartWidth) + " " + strconv.Itoa(height), "Fill": barColour, "Ink": inkColour, "Line": lineColour,
		"Width": strconv.Itoa(chartWidth), "Empty": len(values) == 0}
}

func maxOf(values []int64) int64 {
	var m int64
	for _, v := range values {
		m = max(m, v)
	}
	return m
}
