using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ParallelFlow.ModelServer.Tests;

/// <summary><c>parallelflow-model-server</c> on 127.0.0.1 and a free port: a bearer token on every endpoint, and each
/// bad field of a request answered with 400 naming it.</summary>
public sealed class ModelServerTests
{
    [Fact]
    public async Task Every_endpoint_needs_the_token_made_at_start_and_bad_fields_are_named()
    {
        // A token in the environment would be used, and not printed: the test asks for one made at start.
        using var server = CliProcess.StartModelServer(["--urls", "http://127.0.0.1:0"], waitForLine: "token: ",
            environment: new Dictionary<string, string> { ["PARALLELFLOW_MODEL_TOKEN"] = string.Empty });
        var tokenLine = await server.LineAsync();
        var token = tokenLine["token: ".Length..tokenLine.IndexOf(' ', "token: ".Length)];
        var serving = server.Out.Split('\n').First(l => l.StartsWith("Serving ", StringComparison.Ordinal));
        var endpoint = serving[serving.IndexOf("http://", StringComparison.Ordinal)..serving.IndexOf(" (", StringComparison.Ordinal)];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        foreach (var (method, path) in new[] { ("GET", "/models"), ("POST", "/chat/completions"), ("POST", "/completions"), ("POST", "/embeddings") })
        {
            using var anonymous = new HttpRequestMessage(new HttpMethod(method), endpoint + path) { Content = Json("""{"model":"stories15m"}""") };
            using var noToken = await http.SendAsync(anonymous);
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
            Assert.Equal("Bearer", noToken.Headers.WwwAuthenticate.Single().Scheme);

            using var wrong = new HttpRequestMessage(new HttpMethod(method), endpoint + path) { Content = Json("""{"model":"stories15m"}""") };
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token + "x");
            using var wrongToken = await http.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var models = await http.GetAsync(endpoint + "/models"))
        {
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        }

        foreach (var (body, field) in new[]
        {
            ("""{"model":5,"messages":[{"role":"user","content":"hi"}]}""", "'model' must be a model's name; got the number 5"),
            ("""{"model":"stories15m","messages":[{"role":"user","content":"hi"}],"max_tokens":-5}""", "'max_tokens' must be a whole number from 1 to 4096; got -5"),
            ("""{"model":"stories15m","messages":[{"role":"user","content":"hi"}],"temperature":1e400}""", "'temperature' must be a number at least 0 and at most 2; got 1e400"),
            ("""{"model":"stories15m","messages":[{"role":"user","content":"hi"}],"top_p":"high"}""", "'top_p' must be a number greater than 0 and at most 1; got a string"),
            ("""{"model":"stories15m","messages":"hi"}""", "'messages' must be a list of 1 to 1024 messages; got a string"),
            ("""{"model":"stories15m","messages":[{"role":"user","content":"hi"}],"seed":1.5}""", "'seed' must be a whole number from 0 to 9223372036854775807; got 1.5"),
            ("""{"model":"stories15m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "'stream' must be true or false; got a string"),
            ("""{"model":"stories15m","messages":[{"role":"user","content":[1]}]}""", "'messages[0].content[0]' must be an object with a 'type'; got the number 1"),
            ("""{"model":"stories15m","messages":[{"role":"user","content":[{"type":"text","text":5}]}]}""", "'messages[0].content[0].text' must be a string"),
            ("""[1,2,3]""", "the body must be a JSON object"),
        })
        {
            using var response = await http.PostAsync(endpoint + "/chat/completions", Json(body));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)response.StatusCode} {text}");
            Assert.Contains(field, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using (var embedding = await http.PostAsync(endpoint + "/embeddings", Json("""{"model":"stories15m","input":[1,2]}""")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, embedding.StatusCode);
        }

        using (var completion = await http.PostAsync(endpoint + "/completions", Json("""{"model":"stories15m","prompt":"Once upon a time","max_tokens":4,"temperature":0}""")))
        {
            Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        }

        Assert.DoesNotContain(token, server.Out.Replace(tokenLine, string.Empty, StringComparison.Ordinal) + server.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_auth_serves_without_a_token_when_asked()
    {
        using var server = CliProcess.StartModelServer(["--urls", "http://127.0.0.1:0", "--no-auth"], waitForLine: "Serving ");
        var serving = await server.LineAsync();
        var endpoint = serving[serving.IndexOf("http://", StringComparison.Ordinal)..serving.IndexOf(" (", StringComparison.Ordinal)];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        using var models = await http.GetAsync(endpoint + "/models");

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.DoesNotContain("\ntoken: ", server.Out, StringComparison.Ordinal);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
