using System.Text;
using System.Text.Json;

namespace ParallelFlow.Engine.Plans;

/// <summary>Reads JSON text into <see cref="PlanNode"/>s, keeping each value's line and column.</summary>
/// <remarks>Comments and trailing commas are allowed, as in most hand-written configuration.</remarks>
internal static class JsonPlanReader
{
    private static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 128,
    };

    public static PlanNode Read(string text, string source)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new PlanValidationException([PlanError.Syntax(source, new SourcePosition(1, 1), "the file is empty")]);
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineMap(bytes);
        var reader = new Utf8JsonReader(bytes, Options);
        try
        {
            if (!reader.Read())
            {
                throw new PlanValidationException([PlanError.Syntax(source, new SourcePosition(1, 1), "the file is empty")]);
            }

            var node = ReadValue(ref reader, lines);
            if (reader.Read())
            {
                throw new PlanValidationException([PlanError.Syntax(source, lines.At(reader.TokenStartIndex), "unexpected content after the end of the plan")]);
            }

            return node;
        }
        catch (JsonException ex)
        {
            var position = new SourcePosition((int)(ex.LineNumber ?? 0) + 1, (int)(ex.BytePositionInLine ?? 0) + 1);
            throw new PlanValidationException([PlanError.Syntax(source, position, "malformed JSON: " + FirstSentence(ex.Message))]);
        }
    }

    private static PlanNode ReadValue(ref Utf8JsonReader reader, LineMap lines)
    {
        var position = lines.At(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new ObjectNode(position);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var keyPosition = lines.At(reader.TokenStartIndex);
                    var key = reader.GetString()!;
                    reader.Read();
                    obj.Properties.Add(new PropertyNode(key, keyPosition, ReadValue(ref reader, lines)));
                }

                return obj;
            case JsonTokenType.StartArray:
                var array = new ArrayNode(position);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    array.Items.Add(ReadValue(ref reader, lines));
                }

                return array;
            case JsonTokenType.String:
                return new ScalarNode(position, ScalarKind.String, reader.GetString()!);
            case JsonTokenType.Number:
                return new ScalarNode(position, ScalarKind.Number, Encoding.UTF8.GetString(reader.ValueSpan));
            case JsonTokenType.True:
                return new ScalarNode(position, ScalarKind.Boolean, "true");
            case JsonTokenType.False:
                return new ScalarNode(position, ScalarKind.Boolean, "false");
            default:
                return new ScalarNode(position, ScalarKind.Null, "null");
        }
    }

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends its own "LineNumber: … | BytePositionInLine: …" and "Path: …"; the position is
        // already in the error, 1-based.
        foreach (var marker in new[] { " LineNumber:", " Path:" })
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }

        return message.TrimEnd('.', ' ');
    }

    /// <summary>Maps byte offsets to lines and columns (columns count characters, not bytes).</summary>
    private sealed class LineMap
    {
        private readonly byte[] _bytes;
        private readonly List<int> _lineStarts = [0];

        public LineMap(byte[] bytes)
        {
            _bytes = bytes;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] == (byte)'\n')
                {
                    _lineStarts.Add(i + 1);
                }
            }
        }

        public SourcePosition At(long offset)
        {
            var index = _lineStarts.BinarySearch((int)offset);
            var line = index >= 0 ? index : ~index - 1;
            var start = _lineStarts[line];
            var column = Encoding.UTF8.GetCharCount(_bytes, start, (int)offset - start) + 1;
            return new SourcePosition(line + 1, column);
        }
    }
}
