using System.CommandLine;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Web;
using MmCluster.Shared.Hosting;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster dashboard --run-dir DIR [--port P] [--host H] [--token T]</c>: serves the coordinator's web dashboard
/// (the same page and API) for a finished run, from its <c>summary.json</c> and <c>metrics.jsonl</c>, until Ctrl-C.
/// Exit code 0 when stopped, 2 when the directory holds no finished run or the flags are wrong.
/// </summary>
public static class DashboardCommand
{
    public static Command Create()
    {
        var runDir = new Option<string>("--run-dir") { Description = "A run directory with summary.json and metrics.jsonl.", Required = true };
        var port = new Option<int>("--port")
        {
            Description = "Port to serve the page on (0: any free port).",
            DefaultValueFactory = _ => WebDashboardOptions.DefaultPort,
        };
        var host = new Option<string>("--host") { Description = "Address to bind to.", DefaultValueFactory = _ => "127.0.0.1" };
        var token = new Option<string?>("--token") { Description = "Ask every API call for this bearer token (default: none)." };
        var command = new Command("dashboard", "Serve the web dashboard of a finished run from its files (offline).") { runDir, port, host, token };
        command.SetAction((result, ct) => CommandGuard.RunAsync("dashboard", () => RunAsync(
            result.GetValue(runDir)!, CoordinatorCommand.ParseAddress(result.GetValue(host)!, "--host"), result.GetValue(port), result.GetValue(token),
            result.InvocationConfiguration.Output, _ => { }, ct)));
        return command;
    }

    internal static async Task<int> RunAsync(
        string runDirectory, System.Net.IPAddress host, int port, string? token, TextWriter output, Action<Uri> listening, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"--run-dir: no directory {runDirectory}");
        }
        var source = RunFilesProgressSource.Load(runDirectory);
        await using var server = await WebDashboardServer.StartAsync(new WebDashboardOptions
        {
            Address = host,
            Port = port,
            Token = token,
            Mode = WebDashboardMode.Offline,
            RunDirectory = runDirectory,
        }, source, cancellationToken);
        var snapshot = source.Current;
        await output.WriteLineAsync($"mmcluster dashboard: run {snapshot.RunId} ({snapshot.State.ToString().ToLowerInvariant()}, {source.History.Count} points) at {WebDashboardServer.PageUrl(server.Address, token)} (Ctrl-C to stop)");
        listening(server.Address);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C: the page has been served; stop quietly.
        }
        return 0;
    }
}
