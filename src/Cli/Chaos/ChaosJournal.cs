using System.Text.Json;
using System.Text.Json.Serialization;

namespace MmCluster.Cli.Chaos;

/// <summary>
/// <c>&lt;run&gt;/chaos.jsonl</c>: one line per signal the chaos tools sent (or could not send), so a recovery seen in the
/// logs or the summary can be matched with the fault that caused it.
/// </summary>
internal sealed class ChaosJournal(string path)
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly object gate = new();

    public string Path { get; } = path;

    public void Append(ChaosRecord record)
    {
        var line = JsonSerializer.Serialize(record, Options);
        lock (gate)
        {
            File.AppendAllText(Path, line + "\n");
        }
    }
}
