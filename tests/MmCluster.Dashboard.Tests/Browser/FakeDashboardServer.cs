using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MmCluster.Coordinator.Web;

namespace MmCluster.Dashboard.Tests.Browser;

/// <summary>
/// A stand-in for the coordinator's dashboard web host, on loopback HTTP/1.1: serves the committed bundle (the coordinator
/// assembly's embedded wwwroot, through its <see cref="EmbeddedStaticFiles"/>, so there is one copy) and the page's API
/// contract over <see cref="FakeRun"/>: /api/config, /api/snapshot, /api/history, /api/stream (server-sent events;
/// <see cref="PushAsync"/> sends more), /api/files and /files/*. With a token every /api/* call but config and every
/// /files/* download need it (Bearer header or ?token=). It records every request so specs can check what the page asked
/// for. <see cref="RealDashboardPageSpecs"/> open the real <see cref="WebDashboardServer"/>; this fake stays for what the
/// real hub cannot easily produce (the offline mode, every request recorded, a push at a chosen moment).
/// </summary>
internal sealed class FakeDashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _token;
    private readonly string _mode;
    private readonly ConcurrentDictionary<Channel<string>, byte> _streams = new();

    private FakeDashboardServer(WebApplication app, string? token, string mode)
    {
        _app = app;
        _token = token;
        _mode = mode;
    }

    /// <summary>The base URL, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Every request: path, whether it carried the right token, the status answered.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>The snapshot the API serves; /api/history serves points up to its step.</summary>
    public long Step { get; private set; } = 300;

    public int OpenStreams => _streams.Count;

    /// <summary>Starts on a free loopback port; <paramref name="mode"/> is what /api/config says: live or offline.</summary>
    public static async Task<FakeDashboardServer> StartAsync(string? token = null, string mode = "live")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var server = new FakeDashboardServer(app, token, mode);
        server.Map(app);
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(bound + "/");
        return server;
    }

    /// <summary>Moves the run to <paramref name="step"/> and sends its new points and snapshot to every open stream.</summary>
    public async Task PushAsync(long step)
    {
        var from = Step + 1;
        Step = step;
        foreach (var stream in _streams.Keys)
        {
            await stream.Writer.WriteAsync(Event("points", FakeRun.HistoryJson(from, step)));
            await stream.Writer.WriteAsync(Event("snapshot", FakeRun.SnapshotJson(step)));
        }
    }

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "/";
            var authorized = HasToken(context.Request);
            // Recorded when the answer's headers go out: a stream's at its first event, long before it ends.
            context.Response.OnStarting(() =>
            {
                Requests.Enqueue(new RecordedRequest(path, context.Request.QueryString.Value ?? "", authorized, context.Response.StatusCode));
                return Task.CompletedTask;
            });
            var guarded = _token is not null && path != "/api/config"
                && (path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/files/", StringComparison.Ordinal));
            if (guarded && !authorized)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.CompleteAsync();
                return;
            }
            await next(context);
        });
        // The page's files as the coordinator serves them: its own embedded bundle, so there is one copy.
        var files = EmbeddedStaticFiles.Load(typeof(WebDashboardServer).Assembly);
        app.MapGet("/{file?}", async context =>
        {
            if (!await files.TryServeAsync(context))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }
        });
        app.MapGet("/api/config", () => Json($$"""{"tokenRequired":{{(_token is null ? "false" : "true")}},"mode":"{{_mode}}"}"""));
        app.MapGet("/api/snapshot", () => Json(FakeRun.SnapshotJson(Step)));
        app.MapGet("/api/history", () => Json(FakeRun.HistoryJson(1, Step)));
        app.MapGet("/api/files", () => Json(FakeRun.FilesJson()));
        app.MapGet("/files/{**path}", (string path) => Results.Text($"contents of {path}", "application/octet-stream"));
        app.MapGet("/api/stream", StreamAsync);
    }

    private bool HasToken(HttpRequest request)
    {
        if (_token is null)
        {
            return true;
        }
        return request.Headers.Authorization.ToString() == $"Bearer {_token}" || request.Query["token"].ToString() == _token;
    }

    private async Task StreamAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var channel = Channel.CreateUnbounded<string>();
        await channel.Writer.WriteAsync(Event("snapshot", FakeRun.SnapshotJson(Step)));
        _streams[channel] = 0;
        try
        {
            await foreach (var message in channel.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync(message, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _streams.TryRemove(channel, out _);
        }
    }

    private static string Event(string name, string json) => $"event: {name}\ndata: {json}\n\n";

    private static IResult Json(string json) => Results.Text(json, "application/json", Encoding.UTF8);

    public async ValueTask DisposeAsync()
    {
        foreach (var stream in _streams.Keys)
        {
            stream.Writer.TryComplete();
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One request the fake dashboard answered.</summary>
internal sealed record RecordedRequest(string Path, string Query, bool Authorized, int Status);
