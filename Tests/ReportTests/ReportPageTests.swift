import Foundation
import Testing
import Charts
@testable import Report

@Suite struct ReportPageTests {
    @Test func templateParses() { #expect(ReportPage.template != nil) }

    @Test func sectionsFiguresChartsAndTables() throws {
        var s = ReportPage.Section(id: "groups", heading: "Groups")
        s.lead = ["Who is where."]
        s.figures = [.init("customers", "5,008", detail: "scored")]
        s.charts = [Charts.bars("Customers", categories: ["a"], category: "group", values: [1], axis: .init("customers", .count))]
        s.tables = [.init(caption: "Targets", columns: ["segment", "customers"], numeric: [1], rows: [["a", "1"]])]
        var e = ReportPage.Section(id: "plans", heading: "Earlier plans")
        e.empty = "No plan judged yet."
        let html = try #require(ReportPage(title: "Retain report", subtitle: "as of 2025-12-31", sections: [s, e]).html())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<section id=\"groups\" data-charts=\"1\">"))
        #expect(html.contains("<section id=\"plans\" data-charts=\"0\">"))
        #expect(html.contains("<a href=\"#groups\">Groups</a>"))
        #expect(html.contains("<dt>customers</dt><dd>5,008</dd><dd class=\"detail\">scored</dd>"))
        #expect(html.contains("<svg class=\"chart\" data-chart=\"bars\""))
        #expect(html.contains("<td class=\"num\">1</td>"))
        #expect(html.contains("<p class=\"empty\">No plan judged yet.</p>"))
        #expect(!html.contains("http://") && !html.contains("https://"))
    }

    @Test func inputTextIsEscapedEverywhere() throws {
        let ids = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "a&b", "'quoted'"]
        var s = ReportPage.Section(id: "groups", heading: ids[1])
        s.lead = ids
        s.figures = ids.map { .init($0, $0, detail: $0) }
        s.charts = [Charts.bars(ids[0], categories: ids, category: ids[2], values: [1, 2, 3, 4], axis: .init(ids[1], .count))]
        s.tables = [.init(caption: ids[0], columns: ids, rows: [ids])]
        s.empty = ids[1]
        let html = try #require(ReportPage(title: ids[0], subtitle: ids[1], sections: [s]).html())
        #expect(!html.contains("<script") && !html.contains("<img"))
        #expect(!html.contains("onerror=alert(1)>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.contains("a&amp;b") && html.contains("&#39;quoted&#39;"))
    }
}
