using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using MmCluster.Cli.Watch;
using MmCluster.Shared.Grpc.Dashboard;
using Spectre.Console;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster watch --coordinator URL [--token T] [--json]</c>: follows a run's progress from the coordinator's
/// dashboard. Live view (stages with progress bars, workers, last evaluation) or, with <c>--json</c>, one snapshot per
/// line. Waits for a coordinator that is not up yet. Exit code: 0 the run succeeded, 1 it failed or was cancelled,
/// 2 bad arguments or a refused token, 3 the coordinator never answered.
/// </summary>
public static class WatchCommand
{
    public const int Succeeded = 0;
    public const int RunFailed = 1;
    public const int BadCall = 2;
    public const int Unreachable = 3;

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static Command Create()
    {
        var coordinator = new Option<string>("--coordinator")
        {
            Description = "The coordinator's dashboard URL, e.g. http://127.0.0.1:5080.",
            Required = true,
        };
        var token = new Option<string?>("--token")
        {
            Description = "Bearer token, when the coordinator asks for one (default: $MMCLUSTER_TOKEN).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MMCLUSTER_TOKEN"),
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON snapshot per line instead of the live view." };
        var wait = new Option<double>("--wait")
        {
            Description = "Give up after this many seconds without an answer from the coordinator.",
            DefaultValueFactory = _ => 300,
        };
        var command = new Command("watch", "Show a run's progress live, from the coordinator's dashboard.") { coordinator, token, json, wait };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetValue(coordinator)!, parseResult.GetValue(token), parseResult.GetValue(json), parseResult.GetValue(wait),
            parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, cancellationToken));
        return command;
    }

    internal static async Task<int> RunAsync(
        string coordinator, string? token, bool json, double waitSeconds, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(coordinator, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            await error.WriteLineAsync($"mmcluster watch: --coordinator must be an http:// or https:// URL, got '{coordinator}'");
            return BadCall;
        }
        if (waitSeconds <= 0)
        {
            await error.WriteLineAsync($"mmcluster watch: --wait must be positive, got {waitSeconds}");
            return BadCall;
        }
        string? status = null;
        var watcher = new DashboardWatcher(url, token, TimeSpan.FromSeconds(waitSeconds), message =>
        {
            status = message;
            if (json)
            {
                error.WriteLine(message);
            }
        });
        try
        {
            var last = json
                ? await PrintJsonAsync(watcher, output, cancellationToken)
                : await ShowLiveAsync(watcher, output, () => status, cancellationToken);
            return await ReportEndAsync(last, json, output, error);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            await error.WriteLineAsync($"mmcluster watch: the coordinator at {url} refused the call: {e.Status.Detail}");
            return BadCall;
        }
        catch (CoordinatorUnreachableException e)
        {
            await error.WriteLineAsync($"mmcluster watch: {e.Message}");
            return Unreachable;
        }
    }

    private static async Task<RunSnapshot?> PrintJsonAsync(DashboardWatcher watcher, TextWriter output, CancellationToken cancellationToken)
    {
        RunSnapshot? last = null;
        await foreach (var snapshot in watcher.WatchAsync(cancellationToken))
        {
            await output.WriteLineAsync(Json.Format(snapshot));
            await output.FlushAsync(cancellationToken);
            last = snapshot;
        }
        return last;
    }

    private static async Task<RunSnapshot?> ShowLiveAsync(DashboardWatcher watcher, TextWriter output, Func<string?> status, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        RunSnapshot? last = null;
        await console.Live(WatchView.Waiting("connecting ...")).AutoClear(false).StartAsync(async live =>
        {
            using var redraw = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
            var feed = watcher.WatchAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                var next = feed.MoveNextAsync().AsTask();
                var tick = redraw.WaitForNextTickAsync(cancellationToken).AsTask();
                while (true)
                {
                    // Redraw on every snapshot, and twice a second while waiting so reconnect messages show.
                    if (await Task.WhenAny(next, tick) == next)
                    {
                        if (!await next)
                        {
                            break;
                        }
                        last = feed.Current;
                        next = feed.MoveNextAsync().AsTask();
                    }
                    else
                    {
                        tick = redraw.WaitForNextTickAsync(cancellationToken).AsTask();
                    }
                    live.UpdateTarget(last is null ? WatchView.Waiting(status() ?? "connecting ...") : WatchView.Live(last, status()));
                    live.Refresh();
                }
            }
            finally
            {
                await feed.DisposeAsync();
            }
        });
        if (last is not null && DashboardWatcher.IsFinal(last.State))
        {
            console.Write(WatchView.Summary(last));
        }
        return last;
    }

    private static async Task<int> ReportEndAsync(RunSnapshot? last, bool json, TextWriter output, TextWriter error)
    {
        if (last is null)
        {
            await error.WriteLineAsync("mmcluster watch: the coordinator closed the stream without a snapshot");
            return Unreachable;
        }
        if (last.State == RunState.Succeeded)
        {
            if (!json)
            {
                await output.WriteLineAsync($"run {last.RunName} succeeded in {last.WallS:0.0} s");
            }
            return Succeeded;
        }
        var reason = last.Error.Length > 0 ? last.Error : "no reason given";
        await error.WriteLineAsync($"mmcluster watch: run {last.RunName} {last.State.ToString().ToLowerInvariant()}: {reason}");
        return RunFailed;
    }
}
