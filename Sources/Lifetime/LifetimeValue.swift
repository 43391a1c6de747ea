import Foundation
import RetainIO

/// Settings of the value stage (pipeline file, `[value]`).
public struct ValueSettings: Sendable, Equatable {
    /// The CLV horizon, in months of 365.25 / 12 days.
    public var horizonMonths: Int = 12
    /// The yearly rate future profit is discounted at; monthly d = (1 + rate)^(1/12) − 1.
    public var annualDiscountRate: Double = 0.10

    public init() {}

    /// Days in a month of the CLV horizon.
    public static let monthDays = 365.25 / 12
}

/// One scored customer as the value stage takes them: the customer-base summary (days),
/// the churn model's probability, and the per-purchase economics the segment stage uses.
public struct ValueInput: Sendable {
    public var x: Double
    public var tx: Double
    public var T: Double
    public var meanSpend: Double
    /// The churn probability over the target period (the fallback's survival).
    public var churnProbability: Double
    /// The customer's observed mean net amount per purchase day (for the spend fallback).
    public var observedSpend: Double
    /// Margin rate m (a share) and cost to serve per purchase (currency; 0 without the column).
    public var marginRate: Double
    public var serviceCost: Double

    public init(x: Double, tx: Double, T: Double, meanSpend: Double, churnProbability: Double, observedSpend: Double,
                marginRate: Double, serviceCost: Double) {
        self.x = x; self.tx = tx; self.T = T; self.meanSpend = meanSpend; self.churnProbability = churnProbability
        self.observedSpend = observedSpend; self.marginRate = marginRate; self.serviceCost = serviceCost
    }
}

/// A customer's value figures.
public struct CustomerLifetimeValue: Sendable, Equatable {
    /// P(alive) now. A share.
    public var pAlive: Double
    /// Expected purchase days in the target period. Purchases.
    public var expectedPurchases: Double
    /// Expected spend per purchase. Currency.
    public var expectedSpend: Double
    /// Discounted expected profit over the CLV horizon. Currency.
    public var clv: Double
}

/// CLV = Σᵢ₌₁..M (E[Y(i·L)] − E[Y((i − 1)·L)]) · π / (1 + d)ⁱ: the expected purchase days in
/// each month of the horizon (L = 365.25 / 12 days, M = `horizonMonths`), each worth the
/// profit per purchase π = E[spend] · m − cost to serve, discounted monthly at
/// d = (1 + annual rate)^(1/12) − 1 (profit counted at the month's end). Currency.
///
/// E[Y(t)] is BG/NBD's conditional expectation and E[spend] Gamma-Gamma's (its population
/// mean pγ/(q − 1) for a customer without a repeat purchase). Fallbacks, each announced by
/// the stage: without a usable BG/NBD, P(alive) = 1 − churn probability and
/// E[Y(t)] = P(alive) · (x + 1) / max(T, minimum tenure) · t (the observed purchase rate
/// while alive); without a usable Gamma-Gamma, E[spend] = the customer's observed mean net
/// amount per purchase day, floored at 0.
public struct LifetimeValue: Sendable {
    public var purchases: BGNBD?
    public var spend: GammaGamma?
    public let settings: ValueSettings
    public var targetDays: Double
    public var minimumTenureDays: Double

    /// d = (1 + annual rate)^(1/12) − 1, once rather than per customer.
    let monthlyDiscount: Double

    public init(purchases: BGNBD?, spend: GammaGamma?, settings: ValueSettings, targetDays: Double, minimumTenureDays: Double) {
        self.purchases = purchases; self.spend = spend; self.settings = settings
        self.targetDays = targetDays; self.minimumTenureDays = minimumTenureDays
        monthlyDiscount = pow(1 + settings.annualDiscountRate, 1.0 / 12) - 1
    }

    /// Every customer's figures, by every worker. BG/NBD's expectation factors into a part
    /// of (x, T) and P(alive) (see `BGNBD.expectedIfAlive`); each worker keeps the first
    /// part per (x, T) it meets (customers share them by the thousand), so a hypergeometric
    /// series is summed once per distinct (x, T) and month rather than per customer.
    public func values(_ inputs: [ValueInput]) -> [CustomerLifetimeValue] {
        let n = inputs.count
        let ranges = Workers.split(n, grain: 2048)
        let parts = Slots<[CustomerLifetimeValue]>(count: ranges.count)
        Workers.run(ranges.count) { r in
            var memo: [PurchasesAndAge: [Double]] = [:]
            parts[r] = ranges[r].map { one(inputs[$0], memo: &memo) }
        }
        return (0..<ranges.count).flatMap { parts[$0] ?? [] }
    }

    /// One customer's figures; `memo` as in `values(_:)`.
    func one(_ c: ValueInput, memo: inout [PurchasesAndAge: [Double]]) -> CustomerLifetimeValue {
        let months = settings.horizonMonths
        let d = monthlyDiscount
        let spendPerPurchase: Double
        if let g = spend, c.x > 0 || g.q > 1 { spendPerPurchase = g.expectedSpend(x: c.x, meanSpend: c.meanSpend) } else { spendPerPurchase = max(c.observedSpend, 0) }
        let profit = spendPerPurchase * c.marginRate - c.serviceCost
        // ifAlive[0] = over the target period; ifAlive[i] = over i months.
        let alive: Double, ifAlive: [Double]
        if let m = purchases {
            alive = m.pAlive(x: c.x, tx: c.tx, T: c.T)
            let key = PurchasesAndAge(x: Int32(clamping: Int(c.x)), T: c.T)
            if c.x == c.x.rounded(), let known = memo[key] {
                ifAlive = known
            } else {
                ifAlive = [m.expectedIfAlive(targetDays, x: c.x, T: c.T)]
                    + (1...max(months, 1)).map { m.expectedIfAlive(Double($0) * ValueSettings.monthDays, x: c.x, T: c.T) }
                if c.x == c.x.rounded() { memo[key] = ifAlive }
            }
        } else {
            alive = 1 - c.churnProbability
            let rate = (c.x + 1) / max(c.T, minimumTenureDays)
            ifAlive = [rate * targetDays] + (1...max(months, 1)).map { rate * Double($0) * ValueSettings.monthDays }
        }
        var clv = 0.0, previous = 0.0, discount = 1.0
        for i in 1...max(months, 1) where months > 0 {
            discount /= 1 + d
            let e = ifAlive[i] * alive
            clv += (e - previous) * profit * discount
            previous = e
        }
        return CustomerLifetimeValue(pAlive: alive, expectedPurchases: ifAlive[0] * alive, expectedSpend: spendPerPurchase, clv: clv)
    }
}
