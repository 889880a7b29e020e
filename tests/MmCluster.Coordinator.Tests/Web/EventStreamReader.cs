namespace MmCluster.Coordinator.Tests.Web;

/// <summary>Reads Server-Sent Events off a response stream, one event (or comment) at a time, as a browser's EventSource parses them.</summary>
internal sealed class EventStreamReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream);

    /// <summary>The next event, a comment as ("comment", text), or null when the stream ended.</summary>
    public async Task<(string Event, string Data, string? Id)?> NextAsync(CancellationToken ct)
    {
        string? name = null, id = null, comment = null;
        var data = new List<string>();
        while (await _reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null || data.Count > 0)
                {
                    return (name ?? "message", string.Join("\n", data), id);
                }
                if (comment is not null)
                {
                    return ("comment", comment, null);
                }
                continue;
            }
            if (line.StartsWith(':'))
            {
                comment = line[1..].Trim();
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line["data: ".Length..]);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line["id: ".Length..];
            }
        }
        return null;
    }

    /// <summary>Skips events until one named <paramref name="name"/> whose data satisfies <paramref name="match"/>.</summary>
    public async Task<string> NextAsync(string name, Func<string, bool> match, CancellationToken ct)
    {
        while (await NextAsync(ct) is { } next)
        {
            if (next.Event == name && match(next.Data))
            {
                return next.Data;
            }
        }
        throw new InvalidOperationException($"the stream ended before a '{name}' event that matched");
    }

    public void Dispose() => _reader.Dispose();
}
