using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Shared.Grpc.Dashboard;
using MmCluster.Shared.Security;

namespace MmCluster.Coordinator.Web;

/// <summary>
/// The web dashboard's routes: the page's static files (no token), <c>/api/config</c> (no token), and the token-guarded
/// <c>/api/snapshot</c>, <c>/api/history</c>, <c>/api/stream</c>, <c>/api/files</c> and <c>/files/{path}</c>. Run data is
/// protobuf JSON (Google.Protobuf's <see cref="JsonFormatter"/>, default settings: lowerCamelCase, enums by name, int64 as
/// strings, fields at their default value left out); errors are <c>{"error": "..."}</c>.
/// </summary>
public static class WebDashboardEndpoints
{
    public const string Refusal = "wrong bearer token (or none): open the link mmcluster dev printed, or pass Authorization: Bearer <token> or ?token=<token>";
    public const int MaxHistoryPoints = 1_000_000;

    public static WebApplication MapWebDashboard(this WebApplication app, WebDashboardOptions options, IRunProgressSource source)
    {
        var files = EmbeddedStaticFiles.Load(typeof(WebDashboardEndpoints).Assembly);
        var catalog = new RunFileCatalog(options.RunDirectory);
        var events = new ServerSentEvents(source, options);
        var stopping = app.Lifetime.ApplicationStopping;
        // The first JSON of a history costs a few hundred ms of JIT and protobuf reflection: pay it now, not on the page's first load.
        _ = Task.Run(WarmUp);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            var guarded = (path.StartsWithSegments("/api") && !path.Equals("/api/config")) || path.StartsWithSegments("/files");
            if (guarded && options.TokenRequired && !BearerToken.Matches(PresentedToken(context.Request), options.Token!))
            {
                await Error(context, StatusCodes.Status401Unauthorized, Refusal);
                return;
            }
            await next(context);
        });
        app.MapGet("/api/config", (HttpContext context) => Json(context, writer =>
        {
            writer.WriteBoolean("tokenRequired", options.TokenRequired);
            writer.WriteString("mode", options.Mode == WebDashboardMode.Live ? "live" : "offline");
        }));
        app.MapGet("/api/snapshot", (HttpContext context) => Proto(context, source.Current.ToProto()));
        app.MapGet("/api/history", (HttpContext context) =>
        {
            var query = context.Request.Query;
            var stage = query["stage"].ToString();
            if (!TryParseMaxPoints(query["maxPoints"].ToString(), out var maxPoints))
            {
                return Error(context, StatusCodes.Status400BadRequest,
                    $"maxPoints must be 0 (every point) or from {HistoryDownsampler.MinPoints} to {MaxHistoryPoints}, got '{query["maxPoints"]}'");
            }
            return DashboardHistory.UnknownStage(source, stage) is { } unknown
                ? Error(context, StatusCodes.Status404NotFound, unknown)
                : Proto(context, DashboardHistory.Reply(source, stage, maxPoints));
        });
        app.MapGet("/api/stream", (HttpContext context) =>
        {
            var text = context.Request.Query["since"].FirstOrDefault() ?? context.Request.Headers["Last-Event-ID"].FirstOrDefault();
            long? since = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var position) ? position : null;
            return events.StreamAsync(context, since, stopping);
        });
        app.MapGet("/api/files", (HttpContext context) => Json(context, writer =>
        {
            writer.WriteStartArray("files");
            foreach (var file in catalog.List())
            {
                writer.WriteStartObject();
                writer.WriteString("path", file.Path);
                writer.WriteNumber("bytes", file.Bytes);
                writer.WriteString("kind", file.Kind);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }));
        app.MapGet("/files/{**path}", (HttpContext context, string? path) => catalog.Resolve(path) is { } full
            ? Results.File(full, ContentType(full), Path.GetFileName(full), enableRangeProcessing: true).ExecuteAsync(context)
            : Error(context, StatusCodes.Status404NotFound, $"no such run file: '{path}' (see /api/files)"));
        // A catch-all route ranks below every other one; MapFallback would skip paths that look like files (app.js).
        app.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Head], async context =>
        {
            if (context.Request.Path.StartsWithSegments("/api") || !await files.TryServeAsync(context))
            {
                await Error(context, StatusCodes.Status404NotFound, $"not found: {context.Request.Path}");
            }
        });
        return app;
    }

    private static void WarmUp()
    {
        var point = new HistoryPoint { Stage = "warm-up", Step = 1, Losses = { ["loss"] = 1 }, Eval = { ["top1"] = 1 }, Skipped = { ["none"] = 1 } };
        var reply = new GetHistoryReply { Points = { point }, WorkerPoints = { new WorkerHistoryPoint { WorkerId = "w" } } };
        GetHistoryReply.Parser.ParseJson(JsonFormatter.Default.Format(reply));
    }

    /// <summary>The token a request presents: <c>Authorization: Bearer T</c>, else <c>?token=T</c> (EventSource cannot set headers).</summary>
    private static string PresentedToken(HttpRequest request)
    {
        var header = BearerToken.FromHeader(request.Headers.Authorization.FirstOrDefault());
        return header.Length > 0 ? header : request.Query["token"].FirstOrDefault() ?? "";
    }

    private static bool TryParseMaxPoints(string text, out int maxPoints)
    {
        if (text.Length == 0)
        {
            maxPoints = DashboardHistory.DefaultMaxPoints;
            return true;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out maxPoints)
            && (maxPoints == 0 || maxPoints is >= HistoryDownsampler.MinPoints and <= MaxHistoryPoints);
    }

    private static string ContentType(string path) => Path.GetExtension(path) switch
    {
        ".json" => "application/json",
        ".jsonl" or ".log" or ".txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };

    private static Task Proto(HttpContext context, IMessage message) =>
        Write(context, StatusCodes.Status200OK, JsonFormatter.Default.Format(message));

    private static Task Json(HttpContext context, Action<Utf8JsonWriter> fill)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            fill(writer);
            writer.WriteEndObject();
        }
        return Write(context, StatusCodes.Status200OK, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static Task Error(HttpContext context, int status, string message) =>
        Write(context, status, $"{{\"error\":\"{JsonEncodedText.Encode(message)}\"}}");

    private static async Task Write(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(json, context.RequestAborted);
    }
}
