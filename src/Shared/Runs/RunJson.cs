using System.Text.Json;
using System.Text.Json.Serialization;

namespace MmCluster.Shared.Runs;

/// <summary>The JSON conventions of the run directory's files: snake_case names, enums as snake_case strings, NaN kept.</summary>
public static class RunJson
{
    public static JsonSerializerOptions Options { get; } = Create(indented: true);

    public static JsonSerializerOptions Lines { get; } = Create(indented: false);

    private static JsonSerializerOptions Create(bool indented) => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = indented,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
