using System.Collections.Concurrent;
using System.Diagnostics;
using PuppeteerSharp;
using PuppeteerSharp.Input;
using Xunit;
using Xunit.Abstractions;
using static MmCluster.Dashboard.Tests.Browser.DashboardPage;

namespace MmCluster.Dashboard.Tests.Browser;

/// <summary>
/// The dashboard page (the committed bundle) in headless Debian chromium against <see cref="FakeDashboardServer"/>:
/// what it shows on open, a snapshot pushed over the stream, and the token (pages opened through <see cref="DashboardPage"/>).
/// </summary>
public sealed class DashboardPageSpecs(ChromiumFixture chromium, ITestOutputHelper output) : IClassFixture<ChromiumFixture>
{
    private const string Token = "s3cret";

    [Fact]
    public async Task Should_show_the_run_its_schedule_plots_workers_ledger_recoveries_and_files_when_opened_mid_run()
    {
        await using var server = await FakeDashboardServer.StartAsync();
        var (page, foreign) = await OpenAsync(server.Address);

        await page.WaitForFunctionAsync($"() => document.getElementById('run-name').textContent === '{FakeRun.RunName}'", Soon);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#worker-table tbody tr[data-worker-id]').length > 0", Soon);
        Assert.Equal("running", await TextAsync(page, "#run-state"));
        Assert.Equal("300", await TextAsync(page, "#step"));
        Assert.Equal("1,000", await TextAsync(page, "#total-steps"));
        Assert.Equal(FakeRun.Stage, await TextAsync(page, "#current-stage"));
        Assert.Equal("4", await TextAsync(page, "#generation"));
        Assert.Equal("3", await TextAsync(page, "#world-size"));
        Assert.Equal(4, await CountAsync(page, "#stage-graph g.stage"));
        Assert.Equal(1, await CountAsync(page, "#stage-graph g.stage.state-running"));

        var canvas = await page.EvaluateExpressionAsync<int[]>(
            "(() => { const c = document.querySelector('#plot-loss canvas'); return c ? [c.width, c.height] : [0, 0]; })()");
        Assert.True(canvas[0] > 0 && canvas[1] > 0, $"#plot-loss canvas is {canvas[0]}x{canvas[1]}");
        var lossLegend = await TextAsync(page, "#plot-loss");
        Assert.All(new[] { "loss", "itc", "itm", "itg" }, term => Assert.Contains(term, lossLegend));
        Assert.Equal(1, await CountAsync(page, "#plot-eval canvas"));
        var evalLegend = await TextAsync(page, "#plot-eval");
        Assert.Contains("itm_acc", evalLegend);
        Assert.DoesNotContain("itm_pairs", evalLegend);      // counts would squash the 0..1 metrics
        Assert.DoesNotContain("itm_wrong", evalLegend);      // so would the per-class-pair breakdown
        var markers = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('.plot')].map(p => p.dataset.markers ?? '')");
        Assert.All(markers, m => Assert.Equal(FakeRun.RecoveryStep.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
        Assert.Equal(FakeRun.WorkerCount, await CountAsync(page, "[data-testid=plot-step-split] canvas"));

        Assert.Equal(FakeRun.WorkerCount, await CountAsync(page, "#worker-table tbody tr[data-worker-id]"));
        Assert.Equal(FakeRun.StragglerId, await page.EvaluateExpressionAsync<string>(
            "[...document.querySelectorAll('#worker-table tbody tr.straggler')].map(r => r.dataset.workerId).join(',')"));
        Assert.Equal(1, await CountAsync(page, $"#worker-table tr[data-worker-id='{FakeRun.StragglerId}'] [data-testid=straggler]"));

        Assert.Equal(1, await CountAsync(page, "#recoveries li"));
        Assert.Contains(FakeRun.RecoveryCause, await TextAsync(page, "#recoveries li"));
        Assert.Equal("6,000", await TextAsync(page, "[data-testid=ledger-leased]"));
        Assert.Equal("21,000", await TextAsync(page, "[data-testid=ledger-committed]"));

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#files a').length === 5", Soon);
        var hrefs = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#files a')].map(a => a.href)");
        Assert.All(hrefs, href => Assert.StartsWith(new Uri(server.Address, "files/").ToString(), href));

        await ScreenshotAsync(page, "dashboard-mid-run");
        await page.EmulateMediaFeaturesAsync([new MediaFeatureValue { MediaFeature = MediaFeature.PrefersColorScheme, Value = "dark" }]);
        await page.WaitForFunctionAsync("() => document.querySelector('#plot-loss canvas')?.width > 0", Soon);
        await ScreenshotAsync(page, "dashboard-mid-run-dark");
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task Should_update_the_step_within_two_seconds_when_a_snapshot_is_pushed_over_the_stream()
    {
        await using var server = await FakeDashboardServer.StartAsync();
        var (page, foreign) = await OpenLiveAsync(server);
        Assert.Equal("300", await TextAsync(page, "#step"));

        var clock = Stopwatch.StartNew();
        await server.PushAsync(305);
        await page.WaitForFunctionAsync("() => document.getElementById('step').textContent === '305'",
            new WaitForFunctionOptions { Timeout = 2_000, PollingInterval = 20 });
        output.WriteLine($"step 305 shown {clock.ElapsedMilliseconds} ms after the push");
        await page.WaitForFunctionAsync("() => document.getElementById('plot-loss').dataset.xRange === '1..305'", Soon);
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task Should_keep_a_zoom_on_every_chart_while_points_arrive_when_the_user_zooms_one()
    {
        await using var server = await FakeDashboardServer.StartAsync();
        var (page, foreign) = await OpenLiveAsync(server);
        await page.WaitForFunctionAsync("() => document.getElementById('plot-loss').dataset.xRange === '1..300'", Soon);

        var box = (await (await page.QuerySelectorAsync("#plot-loss .u-over")).BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width * 0.25m, box.Y + box.Height / 2);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + box.Width * 0.6m, box.Y + box.Height / 2, new MoveOptions { Steps = 5 });
        await page.Mouse.UpAsync();
        var zoomed = await page.EvaluateExpressionAsync<string>("document.getElementById('plot-loss').dataset.xRange");
        Assert.NotEqual("1..300", zoomed);
        Assert.Equal(zoomed, await page.EvaluateExpressionAsync<string>("document.getElementById('plot-lr').dataset.xRange"));

        await server.PushAsync(305);
        await page.WaitForFunctionAsync("() => document.getElementById('step').textContent === '305'", Soon);
        Assert.Equal(zoomed, await page.EvaluateExpressionAsync<string>("document.getElementById('plot-loss').dataset.xRange"));

        await page.Mouse.ClickAsync(box.X + box.Width / 2, box.Y + box.Height / 2, new ClickOptions { Count = 2 });
        await page.WaitForFunctionAsync("() => ['plot-loss', 'plot-lr'].every(id => document.getElementById(id).dataset.xRange === '1..305')", Soon);
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task Should_show_the_history_without_opening_a_stream_when_the_server_is_offline()
    {
        await using var server = await FakeDashboardServer.StartAsync(mode: "offline");
        var (page, foreign) = await OpenAsync(server.Address);

        await page.WaitForFunctionAsync("() => document.getElementById('connection').dataset.state === 'ended'", Soon);
        Assert.Equal("offline view", await TextAsync(page, "#connection"));
        Assert.Equal(FakeRun.RunName, await TextAsync(page, "#run-name"));
        Assert.Equal(1, await CountAsync(page, "#plot-loss canvas"));
        Assert.DoesNotContain(server.Requests, r => r.Path == "/api/stream");
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task Should_ask_for_the_token_and_show_or_request_no_data_when_the_token_is_missing()
    {
        await using var server = await FakeDashboardServer.StartAsync(Token);
        var (page, foreign) = await OpenAsync(server.Address);

        await page.WaitForFunctionAsync("() => !document.getElementById('token-panel').hidden", Soon);
        Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('dashboard').hidden"));
        Assert.Equal("MmCluster run", await TextAsync(page, "#run-name"));
        Assert.Equal(0, await CountAsync(page, "#worker-table tbody tr[data-worker-id]"));
        Assert.All(server.Requests.Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)), r => Assert.Equal("/api/config", r.Path));
        Assert.Equal(401, await page.EvaluateExpressionAsync<int>("fetch('/api/snapshot').then(r => r.status)"));
        Assert.Equal(401, await page.EvaluateExpressionAsync<int>("fetch('/api/history').then(r => r.status)"));
        await ScreenshotAsync(page, "dashboard-token-needed");

        await page.TypeAsync("#token-input", "wrong");
        await page.ClickAsync("#token-form button");
        await page.WaitForFunctionAsync("() => /refused/.test(document.getElementById('token-message').textContent) && !document.getElementById('token-panel').hidden", Soon);
        Assert.Equal("MmCluster run", await TextAsync(page, "#run-name"));

        await page.TypeAsync("#token-input", Token);
        await page.ClickAsync("#token-form button");
        await page.WaitForFunctionAsync($"() => document.getElementById('run-name').textContent === '{FakeRun.RunName}'", Soon);
        await page.WaitForFunctionAsync("() => document.getElementById('connection').dataset.state === 'live'", Soon);
        Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('token-panel').hidden"));
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task Should_take_the_token_from_the_link_strip_it_and_send_it_on_every_call_when_opened_with_it()
    {
        await using var server = await FakeDashboardServer.StartAsync(Token);
        var (page, foreign) = await OpenAsync(new Uri(server.Address, $"?token={Token}"));

        await page.WaitForFunctionAsync($"() => document.getElementById('run-name').textContent === '{FakeRun.RunName}'", Soon);
        await page.WaitForFunctionAsync("() => document.getElementById('connection').dataset.state === 'live'", Soon);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#files a').length > 0", Soon);
        Assert.Equal("", await page.EvaluateExpressionAsync<string>("location.search"));
        Assert.Equal(Token, await page.EvaluateExpressionAsync<string>("sessionStorage.getItem('mmcluster.dashboard.token')"));

        var calls = server.Requests.Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal) && r.Path != "/api/config").ToList();
        // The stream starts where the loaded history ends (its cursor), so no point recorded in between is lost.
        Assert.Contains(calls, r => r.Path == "/api/stream" && r.Query.Contains("since=300", StringComparison.Ordinal));
        Assert.All(calls, r => Assert.True(r.Authorized && r.Status == 200, $"{r.Path}{r.Query} answered {r.Status}"));
        var hrefs = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#files a')].map(a => a.href)");
        Assert.All(hrefs, href => Assert.EndsWith($"?token={Token}", href));
        Assert.Empty(foreign);
    }

    /// <summary>Opens the page and waits until it follows the server's event stream.</summary>
    private async Task<(IPage Page, ConcurrentQueue<string> Foreign)> OpenLiveAsync(FakeDashboardServer server)
    {
        var opened = await OpenAsync(server.Address);
        await opened.Page.WaitForFunctionAsync("() => document.getElementById('connection').dataset.state === 'live'", Soon);
        await WaitUntilAsync(() => server.OpenStreams == 1, "the page to open /api/stream");
        return opened;
    }

    private Task<(IPage Page, ConcurrentQueue<string> Foreign)> OpenAsync(Uri address) => DashboardPage.OpenAsync(chromium.Browser, address, output);

    private Task ScreenshotAsync(IPage page, string name) => DashboardPage.ScreenshotAsync(page, name, output);
}
