using System.Diagnostics;
using System.Globalization;
using System.Net;
using PuppeteerSharp;
using Xunit;
using Xunit.Abstractions;
using static MmCluster.Dashboard.Tests.Browser.DashboardPage;

namespace MmCluster.Dashboard.Tests.Browser;

/// <summary>
/// The dashboard page in headless Debian chromium against the coordinator's real web host: <see cref="RealRun"/> starts
/// <see cref="MmCluster.Coordinator.Web.WebDashboardServer"/> over a <see cref="MmCluster.Coordinator.Progress.RunProgressHub"/>
/// driven as the RunActor drives it, with a token and a run directory. What the page shows on open, file downloads, a
/// snapshot published after load, and the token refused.
/// </summary>
public sealed class RealDashboardPageSpecs(ChromiumFixture chromium, ITestOutputHelper output) : IClassFixture<ChromiumFixture>
{
    [Fact]
    public async Task Should_show_the_run_chart_workers_and_downloadable_files_when_the_real_host_is_opened_with_the_token()
    {
        await using var run = await RealRun.StartAsync();
        var (page, foreign) = await OpenAsync(chromium.Browser, run.PageUrl, output);

        await page.WaitForFunctionAsync($"() => document.getElementById('run-name').textContent === '{RealRun.RunName}'", Soon);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#worker-table tbody tr[data-worker-id]').length > 0", Soon);
        Assert.Equal("running", await TextAsync(page, "#run-state"));
        Assert.Equal("300", await TextAsync(page, "#step"));
        Assert.Equal(RealRun.Stage, await TextAsync(page, "#current-stage"));

        await page.WaitForFunctionAsync("() => document.querySelector('#plot-loss canvas')?.width > 0", Soon);
        var canvas = await page.EvaluateExpressionAsync<int[]>(
            "(() => { const c = document.querySelector('#plot-loss canvas'); return [c.width, c.height]; })()");
        Assert.True(canvas[0] > 0 && canvas[1] > 0, $"#plot-loss canvas is {canvas[0]}x{canvas[1]}");
        Assert.Equal(RealRun.RecoveryStep.ToString(CultureInfo.InvariantCulture),
            await page.EvaluateExpressionAsync<string>("document.getElementById('plot-loss').dataset.markers ?? ''"));
        Assert.Contains(RealRun.RecoveryCause, await TextAsync(page, "#recoveries li"));

        Assert.Equal(2, await CountAsync(page, "#worker-table tbody tr[data-worker-id]"));
        Assert.Equal(RealRun.StragglerId, await page.EvaluateExpressionAsync<string>(
            "[...document.querySelectorAll('#worker-table tbody tr.straggler')].map(r => r.dataset.workerId).join(',')"));
        Assert.Equal(["device", "memory (RSS / peak)"], await page.EvaluateExpressionAsync<string[]>(
            "[...document.querySelectorAll('#worker-table thead th')].map(t => t.textContent).filter(t => t === 'device' || t.startsWith('memory'))"));
        Assert.Equal(["cuda:0", "3.0 GiB / 5.5 GiB", "cpu", "—"], await page.EvaluateExpressionAsync<string[]>(
            "[...document.querySelectorAll('#worker-table tbody tr[data-worker-id]')].sort((a, b) => a.cells[0].textContent - b.cells[0].textContent)"
            + ".flatMap(r => [r.querySelector('[data-testid=worker-device]').textContent, r.querySelector('[data-testid=worker-memory]').textContent])"));
        Assert.Contains(".NET heap 96.0 MiB", await page.EvaluateExpressionAsync<string>(
            "document.querySelector('#worker-table [data-testid=worker-memory]').title"));

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#files a').length === 4", Soon);
        foreach (var path in new[] { RealRun.CheckpointPath, RealRun.LogPath })
        {
            // The link carries ?token= (a download cannot send a header): fetching it is what a click downloads.
            var bytes = await page.EvaluateFunctionAsync<int[]>(
                """
                async path => {
                  const link = [...document.querySelectorAll('#files a')].find(a => new URL(a.href).pathname === '/files/' + path);
                  if (!link) return [-1];
                  const response = await fetch(link.href);
                  return response.ok ? [...new Uint8Array(await response.arrayBuffer())] : [-response.status];
                }
                """, path);
            Assert.Equal(run.Bytes(path).Select(b => (int)b).ToArray(), bytes);
        }

        await ScreenshotAsync(page, "dashboard-real-host", output);
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task Should_show_the_new_step_within_two_seconds_when_the_hub_publishes_after_the_page_loaded()
    {
        await using var run = await RealRun.StartAsync();
        var (page, foreign) = await OpenAsync(chromium.Browser, run.PageUrl, output);
        await page.WaitForFunctionAsync("() => document.getElementById('connection').dataset.state === 'live'", Soon);
        await page.WaitForFunctionAsync("() => document.getElementById('plot-loss').dataset.xRange === '1..300'", Soon);
        Assert.Equal("300", await TextAsync(page, "#step"));

        var clock = Stopwatch.StartNew();
        run.AdvanceTo(305);
        await page.WaitForFunctionAsync("() => document.getElementById('step').textContent === '305'",
            new WaitForFunctionOptions { Timeout = 2_000, PollingInterval = 20 });
        output.WriteLine($"step 305 shown {clock.ElapsedMilliseconds} ms after the publish");
        // The points recorded with it came over the stream too.
        await page.WaitForFunctionAsync("() => document.getElementById('plot-loss').dataset.xRange === '1..305'", Soon);
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task Should_show_only_the_token_form_and_refuse_the_api_when_the_real_host_is_opened_without_the_token()
    {
        await using var run = await RealRun.StartAsync();
        var (page, foreign) = await OpenAsync(chromium.Browser, run.Address, output);

        await page.WaitForFunctionAsync("() => !document.getElementById('token-panel').hidden", Soon);
        Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('dashboard').hidden"));
        Assert.Equal("MmCluster run", await TextAsync(page, "#run-name"));
        Assert.Equal(0, await CountAsync(page, "#worker-table tbody tr[data-worker-id]"));
        Assert.Equal(401, await page.EvaluateExpressionAsync<int>("fetch('/api/snapshot').then(r => r.status)"));

        using var http = new HttpClient { BaseAddress = run.Address };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/snapshot")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"files/{RealRun.LogPath}")).StatusCode);
        Assert.Empty(foreign);
    }
}
