package orders

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Order is one line of an order server's log, as JSON.
type Order struct {
	OrderID     string    `json:"orderId"`
	UserID      string    `json:"userId"`
	ProductID   string    `json:"productId"`
	ProductName string    `json:"productName"`
	Category    string    `json:"category"`
	UnitPrice   float64   `json:"unitPrice"`
	Quantity    int64     `json:"quantity"`
	Amount      float64   `json:"amount"`
	Province    string    `json:"province"`
	City        string    `json:"city"`
	Payment     string    `json:"payment"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"createdAt"`
}

// ErrMalformedOrder is wrapped by ParseOrder's errors.
var ErrMalformedOrder = errors.New("malformed order line")

// ParseOrder parses and validates one log line.
func ParseOrder(line []byte) (Order, error) {
	var o Order
	if err := json.Unmarshal(line, &o); err != nil {
		return Order{}, fmt.Errorf("%w: %v", ErrMalformedOrder, err)
	}
	switch {
	case o.OrderID == "":
		return Order{}, fmt.Errorf("%w: no orderId", ErrMalformedOrder)
	case o.Quantity <= 0:
		return Order{}, fmt.Errorf("%w: order %s: quantity %d", ErrMalformedOrder, o.OrderID, o.Quantity)
	case o.Amount < 0:
		return Order{}, fmt.Errorf("%w: order %s: amount %v", ErrMalformedOrder, o.OrderID, o.Amount)
	case o.Province == "":
		return Order{}, fmt.Errorf("%w: order %s: no province", ErrMalformedOrder, o.OrderID)
	}
	return o, nil
}

type product struct {
	id, name, category string
	price              float64
}

var products = []product{
	{"P1001", "华为 Mate 60 Pro 手机", "手机数码", 6999},
	{"P1002", "小米 14 手机", "手机数码", 3999},
	{"P1003", "Apple AirPods Pro", "手机数码", 1899},
	{"P2001", "美的 变频空调 1.5匹", "家用电器", 2599},
	{"P2002", "海尔 冰箱 470升", "家用电器", 3299},
	{"P2003", "格力 电风扇", "家用电器", 299},
	{"P3001", "李宁 跑步鞋", "服饰运动", 459},
	{"P3002", "安踏 运动外套", "服饰运动", 329},
	{"P3003", "优衣库 羊毛衫", "服饰运动", 399},
	{"P4001", "三只松鼠 坚果礼盒", "食品生鲜", 128},
	{"P4002", "五常 大米 10kg", "食品生鲜", 89},
	{"P4003", "西湖 龙井茶 250g", "食品生鲜", 268},
	{"P5001", "《三体》全集", "图书音像", 98},
	{"P5002", "《红楼梦》精装", "图书音像", 66},
	{"P6001", "九阳 豆浆机", "厨房用品", 399},
	{"P6002", "苏泊尔 电饭煲", "厨房用品", 459},
}

var places = []struct {
	province string
	cities   []string
}{
	{"广东", []string{"广州", "深圳", "东莞", "佛山"}},
	{"浙江", []string{"杭州", "宁波", "温州"}},
	{"江苏", []string{"南京", "苏州", "无锡"}},
	{"北京", []string{"北京"}},
	{"上海", []string{"上海"}},
	{"四川", []string{"成都", "绵阳"}},
	{"山东", []string{"济南", "青岛", "烟台"}},
	{"湖北", []string{"武汉", "宜昌"}},
	{"福建", []string{"福州", "厦门", "泉州"}},
	{"河南", []string{"郑州", "洛阳"}},
	{"陕西", []string{"西安"}},
	{"重庆", []string{"重庆"}},
}

var payments = []string{"支付宝", "微信支付", "银行卡", "花呗"}

// Generator makes random but realistic orders. Seeded generators repeat
// their sequence, so tests can know the truth of what they generate.
type Generator struct {
	r    *rand.Rand
	seed uint64
	seq  uint64
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), seed: seed}
}

// Next returns the next order, created at the given time.
func (g *Generator) Next(at time.Time) Order {
	g.seq++
	p := products[g.r.IntN(len(products))]
	pl := places[g.r.IntN(len(places))]
	qty := int64(1 + g.r.IntN(3))
	return Order{
		OrderID:     fmt.Sprintf("O%d-%d-%d", at.Unix(), g.seed, g.seq), // unique across generators
		UserID:      fmt.Sprintf("U%05d", g.r.IntN(50000)),
		ProductID:   p.id,
		ProductName: p.name,
		Category:    p.category,
		UnitPrice:   p.price,
		Quantity:    qty,
		Amount:      p.price * float64(qty),
		Province:    pl.province,
		City:        pl.cities[g.r.IntN(len(pl.cities))],
		Payment:     payments[g.r.IntN(len(payments))],
		Status:      "paid",
		CreatedAt:   at.UTC().Truncate(time.Millisecond),
	}
}
