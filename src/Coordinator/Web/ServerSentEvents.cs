using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;

namespace MmCluster.Coordinator.Web;

/// <summary>
/// <c>GET /api/stream</c>: the run as Server-Sent Events, for the page's <c>EventSource</c>. First <c>snapshot</c> (the
/// current <c>RunSnapshot</c>), then on every new snapshot, at most one per <see cref="WebDashboardOptions.CoalesceInterval"/>
/// (the subscription keeps only the newest meanwhile, so the last is never lost): <c>snapshot</c>, and <c>points</c> (a
/// <c>GetHistoryReply</c> with the points recorded since the last event; its SSE id is the reply's cursor, so a browser
/// that reconnects sends it back as Last-Event-ID and misses nothing held). A comment line when idle for
/// <see cref="WebDashboardOptions.HeartbeatInterval"/>. The stream ends after the final snapshot (the run is over) or
/// when the server stops. <c>?since=N</c> (or Last-Event-ID) sends the points from position N with the first snapshot.
/// </summary>
public sealed class ServerSentEvents(IRunProgressSource source, WebDashboardOptions options)
{
    public async Task StreamAsync(HttpContext context, long? since, CancellationToken stopping)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var ct = cancel.Token;
        var cursor = since ?? source.HistorySince(long.MaxValue).Cursor;
        await response.Body.FlushAsync(ct);
        var snapshots = source.Subscribe(ct).GetAsyncEnumerator(ct);
        Task<bool>? next = null;
        try
        {
            next = snapshots.MoveNextAsync().AsTask();
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var heartbeat = Task.Delay(options.HeartbeatInterval, idle.Token);
                if (await Task.WhenAny(next, heartbeat) == heartbeat)
                {
                    await WriteAsync(response, ": heartbeat\n\n", ct);
                    continue;
                }
                await idle.CancelAsync();
                if (!await next)
                {
                    next = null;
                    return;
                }
                var events = new StringBuilder();
                Append(events, "snapshot", null, snapshots.Current.ToProto());
                var points = DashboardHistory.Reply(source, "", maxPoints: 0, since: cursor);
                if (points.Points.Count > 0)
                {
                    Append(events, "points", points.Cursor, points);
                }
                cursor = points.Cursor;
                await WriteAsync(response, events.ToString(), ct);
                next = null;
                await Task.Delay(options.CoalesceInterval, ct);
                next = snapshots.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page went away or the server is stopping: nothing to tell anyone.
        }
        finally
        {
            // An enumerator is disposed only when no MoveNextAsync is pending: cancel it and let it finish first.
            await cancel.CancelAsync();
            if (next is not null)
            {
                await next.ContinueWith(_ => { }, TaskScheduler.Default);
            }
            await snapshots.DisposeAsync();
        }
    }

    private static void Append(StringBuilder events, string name, long? id, IMessage data)
    {
        events.Append("event: ").Append(name).Append('\n');
        if (id is { } position)
        {
            events.Append("id: ").Append(position).Append('\n');
        }
        // JsonFormatter writes one line; a data line per line keeps the event well-formed whatever it writes.
        foreach (var line in JsonFormatter.Default.Format(data).Split('\n'))
        {
            events.Append("data: ").Append(line).Append('\n');
        }
        events.Append('\n');
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken ct)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
        await response.Body.FlushAsync(ct);
    }
}
