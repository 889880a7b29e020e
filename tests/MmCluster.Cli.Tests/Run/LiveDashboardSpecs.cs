using System.Diagnostics;
using System.Net;
using MmCluster.Dashboard.Tests.Browser;
using PuppeteerSharp;
using Xunit;
using Xunit.Abstractions;
using static MmCluster.Dashboard.Tests.Browser.DashboardPage;

namespace MmCluster.Cli.Tests.Run;

/// <summary>
/// The web dashboard end to end (issue 14): a real <c>mmcluster dev</c> run of two workers, one of them SIGKILLed by
/// <c>--chaos</c>, watched in headless Debian chromium through the link the dev command prints. While the run goes the
/// loss chart grows, the worker table lists both workers, the recovery shows in the list and as a marker on the loss
/// chart; a page without the token shows only the token form and the API refuses it; the run still ends with exit 0.
/// Screenshots (during the run and at its end) go to screenshots/ beside the test assembly, as the dashboard specs' do.
/// </summary>
public sealed class LiveDashboardSpecs(ChromiumFixture chromium, ITestOutputHelper output) : IClassFixture<ChromiumFixture>, IAsyncLifetime
{
    private const string LinkPrefix = "mmcluster dev: web dashboard ";

    // The machine may be loaded (a training run, other specs): the run may take minutes, so every wait is generous.
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);
    private static readonly WaitForFunctionOptions WhileRunning = new() { Timeout = 180_000, PollingInterval = 100 };

    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-live-dashboard-").FullName;
    private readonly List<IPage> pages = [];
    private CliProcess? dev;

    [Fact]
    public async Task Should_show_growing_charts_both_workers_and_the_recovery_when_a_dev_run_loses_a_worker_while_the_page_watches()
    {
        // As RecoverySpecs (CliHarness.WriteRecoveryRunAsync): an epoch is 4 steps; 24 steps last long enough (tens of
        // seconds) for the page to see the run grow, and the kill at step 8 leaves steps to train after the recovery.
        const int steps = 24, kill = 8;
        var spec = await CliHarness.WriteRecoveryRunAsync(root, "live-dashboard", steps);
        var clock = Stopwatch.StartNew();
        dev = CliProcess.Start(
            ["dev", "--spec", spec, "--workers", "2", "--run-dir", Path.Combine(root, "run"), "--chaos", $"kill worker-1 at step {kill}"]);
        var link = new Uri((await dev.WaitForLineAsync(l => l.StartsWith(LinkPrefix, StringComparison.Ordinal), TimeSpan.FromMinutes(2)))[LinkPrefix.Length..]);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {link}");
        Assert.Contains("token=", link.Query);

        var (page, foreign) = await OpenAsync(chromium.Browser, link, output);
        pages.Add(page);

        // The loss chart's points grow while the run goes: two reads of its point count (data-points), the second larger.
        await UntilAsync(page, "+(document.getElementById('plot-loss').dataset.points ?? 0) > 0", "the loss chart's first points");
        var first = await PointsAsync(page);
        await UntilAsync(page, $"+(document.getElementById('plot-loss').dataset.points ?? 0) > {first}", $"more than {first} loss points", clock);
        var later = await PointsAsync(page);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: the loss chart grew from {first} to {later} points");
        Assert.InRange(later, first + 1, steps + 1);

        // Both workers in the worker table (worker-1 again after its restart, so it may be missing for a moment).
        await UntilAsync(page,
            "['worker-0', 'worker-1'].every(id => document.querySelector(`#worker-table tbody tr[data-worker-id=\"${id}\"]`))",
            "worker-0 and worker-1 in the worker table");
        await ScreenshotAsync(page, "dashboard-live-run", output);

        // The kill: a recovery in the list, and its step marked on the loss chart.
        await UntilAsync(page, "document.querySelectorAll('#recoveries li.recovery').length > 0", "a recovery in the list");
        var recoveryStep = await page.EvaluateExpressionAsync<string>("document.querySelector('#recoveries li.recovery').dataset.step");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: recovery at step {recoveryStep}: {await TextAsync(page, "#recoveries li.recovery")}");
        Assert.InRange(long.Parse(recoveryStep, System.Globalization.CultureInfo.InvariantCulture), kill, steps);
        await UntilAsync(page, $"(document.getElementById('plot-loss').dataset.markers ?? '').split(',').includes('{recoveryStep}')",
            $"a marker at step {recoveryStep} on the loss chart");
        Assert.Contains("worker-1", await TextAsync(page, "#recoveries li.recovery"));

        // A page without the token: the form, a refusal that says why, no run data; the API answers 401.
        var bare = new Uri(link.GetLeftPart(UriPartial.Path));
        var (locked, lockedForeign) = await OpenAsync(chromium.Browser, bare, output);
        pages.Add(locked);
        await UntilAsync(locked, "!document.getElementById('token-panel').hidden", "the token form on the page without the token");
        Assert.True(await locked.EvaluateExpressionAsync<bool>("document.getElementById('dashboard').hidden"));
        Assert.Contains("protected by a token", await TextAsync(locked, "#token-message"));
        Assert.Equal("MmCluster run", await TextAsync(locked, "#run-name"));
        Assert.Equal("0", await TextAsync(locked, "#step"));
        Assert.Equal(0, await CountAsync(locked, "#worker-table tbody tr[data-worker-id]"));
        Assert.Equal(0, await CountAsync(locked, "#recoveries li"));
        Assert.Equal(401, await locked.EvaluateExpressionAsync<int>("fetch('api/snapshot').then(r => r.status)"));
        using (var http = new HttpClient { BaseAddress = bare })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/snapshot")).StatusCode);
        }
        await ScreenshotAsync(locked, "dashboard-live-run-no-token", output);
        // The page draws in animation frames, which a browser does not run in a background tab: the run's page to the front.
        await locked.CloseAsync();
        await page.BringToFrontAsync();

        // The end: the page shows the final step and closes its stream; the dev run exits 0.
        await UntilAsync(page,
            $"document.getElementById('connection').dataset.state === 'ended' && document.getElementById('step').textContent === '{steps}'",
            $"the run's end on the page at step {steps}", clock);
        Assert.Equal("succeeded", await page.EvaluateExpressionAsync<string>("document.getElementById('run-state').dataset.state"));
        await UntilAsync(page, $"+document.getElementById('plot-loss').dataset.points > {later}", "the last loss points");
        await ScreenshotAsync(page, "dashboard-live-run-end", output);
        var exit = await dev.WaitForExitAsync(RunTimeout - clock.Elapsed);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: mmcluster dev exited {exit}");
        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{dev.Log}");
        Assert.Empty(foreign);
        Assert.Empty(lockedForeign);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var page in pages)
        {
            try
            {
                await page.CloseAsync();
            }
            catch (PuppeteerException)
            {
            }
        }
        dev?.Dispose();
        output.WriteLine(dev?.Log ?? "");
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>How many steps the loss chart plots.</summary>
    private static async Task<int> PointsAsync(IPage page) =>
        int.Parse(await page.EvaluateExpressionAsync<string>("document.getElementById('plot-loss').dataset.points"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Waits for <paramref name="condition"/> (a JS expression) on the page; a timeout says what and shows the run's output.</summary>
    private async Task UntilAsync(IPage page, string condition, string what, Stopwatch? trace = null)
    {
        var waiting = page.WaitForFunctionAsync($"() => {condition}", WhileRunning);
        var seen = "";
        while (trace is not null && !waiting.IsCompleted)
        {
            var now = await page.EvaluateExpressionAsync<string>(
                "[document.getElementById('step').textContent, document.getElementById('connection').dataset.state, document.getElementById('plot-loss').dataset.points].join(' ')");
            if (now != seen)
            {
                output.WriteLine($"{trace.Elapsed.TotalSeconds:F1} s: page step, connection, loss points: {now}");
                seen = now;
            }
            await Task.WhenAny(waiting, Task.Delay(500));
        }
        try
        {
            await waiting;
        }
        catch (WaitTaskTimeoutException)
        {
            Assert.Fail($"timed out after {WhileRunning.Timeout} ms waiting for {what}; mmcluster dev so far:\n{dev?.Log}");
        }
    }
}
